// Vigil viewer page: the link's feeds, live from the control room's media server (Janus).
//
// For each feed the page asks the gateway to watch it (POST …/watch: Janus's SDP offer),
// answers with its ICE gathered whole (POST …/watch/{viewing}), and shows the video muted
// until the viewer taps for sound. Every second it asks for the feeds' states
// (GET …/status) and says each plainly; a 410 at any time means the link has ended: every
// connection is closed at once and the page says so. A body cam stays shuttered until the
// viewer picks a reason (POST …/reason), as at a desk.
//
// The person watching may be woken at night on a phone: every state is a word as well as a
// colour, and nothing needs more than a tap.
"use strict";

const ICE_GATHERING_MAX_MS = 2000;
const RETRY_MS = 2000;
const KINDS = Object.freeze({
  caller: "Caller",
  officer: "Officer's phone",
  bodycam: "Body cam",
  drone: "Drone",
  camera: "Camera",
});
const WAITING = Object.freeze({
  live: "Connecting…",
  stalled: "No new picture from the source",
  lost: "The control room has lost this feed for now",
  starting: "Waiting for this feed to start",
  ended: "This feed has ended",
  "not available": "Not available to watch yet",
});

/** The gateway answered 410: the link is dead and nothing more should be tried. */
class LinkGone extends Error {}

const app = {
  config: null,
  base: "",
  ended: false,
  tiles: [],
  pollTimer: null,
};

function $(id) {
  return document.getElementById(id);
}

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// -- Requests ------------------------------------------------------------------------------

async function request(method, path, { json, sdp, keepalive = false } = {}) {
  const init = { method, credentials: "same-origin", cache: "no-store", keepalive, headers: {} };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (sdp !== undefined) {
    init.headers["Content-Type"] = "application/sdp";
    init.body = sdp;
  }
  const response = await fetch(app.base + path, init);
  if (response.status === 410) {
    linkEnded();
    throw new LinkGone("410");
  }
  return response;
}

async function reasonOf(response) {
  try {
    const body = await response.json();
    return typeof body.error === "string" ? body.error : `answered ${response.status}`;
  } catch {
    return `answered ${response.status}`;
  }
}

// -- Tiles ------------------------------------------------------------------------------------

function makeTile(feed) {
  const element = $("tile").content.firstElementChild.cloneNode(true);
  const tile = {
    index: feed.index,
    name: feed.name,
    element,
    video: element.querySelector("video"),
    sound: element.querySelector(".sound"),
    shutter: element.querySelector(".shutter"),
    pc: null,
    viewing: null,
    starting: false,
    retryAt: 0,
    status: feed,
    frames: 0,
    firstFrameMs: null,
  };
  setText(element.querySelector(".name"), feed.name);
  element.dataset.index = String(feed.index);
  tile.sound.addEventListener("click", () => toggleSound(tile));
  buildShutter(tile);
  countFrames(tile);
  tile.video.addEventListener("playing", () => tile.element.classList.add("playing"));
  $("feeds").append(element);
  return tile;
}

/** Decoded frames, counted as the browser presents them (tests and the first-frame time). */
function countFrames(tile) {
  const video = tile.video;
  if (typeof video.requestVideoFrameCallback !== "function") return;
  const onFrame = () => {
    tile.frames += 1;
    // performance.now() counts from the page's navigation: link opened → first frame.
    if (tile.firstFrameMs === null) tile.firstFrameMs = Math.round(performance.now());
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

function show(tile, feed) {
  tile.status = feed;
  const element = tile.element;
  element.dataset.state = feed.state;
  element.classList.toggle("shuttered", feed.shuttered);
  setText(element.querySelector(".kind"), KINDS[feed.kind] || "");
  setText(element.querySelector(".said"), feed.said);
  setText(element.querySelector(".pill"), feed.state === "not available" ? "Not available" : feed.state);
  const chip = element.querySelector(".chip");
  chip.hidden = !feed.chip;
  setText(chip, feed.chip ? `Opened: ${feed.chip}` : "");
  tile.shutter.hidden = !feed.shuttered;
  const waiting = tile.pc ? WAITING.live : WAITING[feed.state] || feed.said;
  setText(element.querySelector(".waiting"), waiting);
  tile.sound.hidden = feed.shuttered || !tile.pc || !hasAudio(tile);
}

function hasAudio(tile) {
  const stream = tile.video.srcObject;
  return Boolean(stream && stream.getAudioTracks && stream.getAudioTracks().length);
}

function toggleSound(tile) {
  const on = tile.video.muted;
  tile.video.muted = !on;
  tile.sound.setAttribute("aria-pressed", String(on));
  setText(tile.sound, on ? "Sound on" : "Tap for sound");
  tile.video.play().catch(() => {});
}

// -- Watching ----------------------------------------------------------------------------------

function wanted(tile) {
  const feed = tile.status;
  return !app.ended && feed.watchable && !feed.shuttered;
}

async function watch(tile) {
  if (tile.starting || tile.pc || !wanted(tile) || performance.now() < tile.retryAt) return;
  tile.starting = true;
  try {
    const response = await request("POST", "/watch", { json: { feed: tile.index } });
    if (response.status !== 201) throw new Error(await reasonOf(response));
    const { viewing, sdp } = await response.json();
    const pc = new RTCPeerConnection({ iceServers: app.config.ice_servers || [] });
    tile.pc = pc;
    tile.viewing = viewing;
    pc.addEventListener("track", (event) => {
      const stream = event.streams[0] || new MediaStream([event.track]);
      if (tile.video.srcObject !== stream) tile.video.srcObject = stream;
      tile.video.play().catch(() => {});
      show(tile, tile.status);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (["failed", "closed"].includes(pc.connectionState) && tile.pc === pc) {
        drop(tile, { tell: true });
        poll(); // a link revoked shows at once, not at the next tick
      }
    });
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    const answered = await request("POST", `/watch/${encodeURIComponent(viewing)}`, {
      sdp: pc.localDescription.sdp,
    });
    if (!answered.ok) throw new Error(await reasonOf(answered));
  } catch (error) {
    if (!(error instanceof LinkGone)) {
      drop(tile, { tell: false });
      tile.retryAt = performance.now() + RETRY_MS;
    }
  } finally {
    tile.starting = false;
    show(tile, tile.status);
  }
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(done, ICE_GATHERING_MAX_MS);
  });
}

/** Let a tile's connection go; `tell` the gateway (its viewing ends in the custody log). */
function drop(tile, { tell }) {
  const pc = tile.pc;
  const viewing = tile.viewing;
  tile.pc = null;
  tile.viewing = null;
  tile.retryAt = performance.now() + RETRY_MS;
  if (pc) pc.close();
  tile.video.srcObject = null;
  tile.element.classList.remove("playing");
  if (tell && viewing && !app.ended) {
    request("DELETE", `/watch/${encodeURIComponent(viewing)}`, { keepalive: true }).catch(() => {});
  }
}

// -- The feeds' states -------------------------------------------------------------------------

async function poll() {
  if (app.ended) return;
  let feeds;
  try {
    const response = await request("GET", "/status");
    if (!response.ok) throw new Error(await reasonOf(response));
    feeds = (await response.json()).feeds;
    setText($("status"), "");
  } catch (error) {
    if (!(error instanceof LinkGone)) {
      setText($("status"), "No answer from the control room — trying again…");
    }
    return;
  }
  for (const feed of feeds) {
    const tile = app.tiles[feed.index];
    if (!tile) continue;
    show(tile, feed);
    if (tile.pc && !feed.watchable && ["ended", "not available"].includes(feed.state)) {
      drop(tile, { tell: true });
      show(tile, feed);
    } else if (!tile.pc) {
      watch(tile);
    }
  }
}

function linkEnded() {
  if (app.ended) return;
  app.ended = true;
  clearInterval(app.pollTimer);
  for (const tile of app.tiles) drop(tile, { tell: false });
  document.body.dataset.state = "ended";
  document.title = "Link ended";
}

// -- A body cam's shutter -------------------------------------------------------------------------

function buildShutter(tile) {
  const form = tile.shutter;
  const choices = form.querySelector(".choices");
  const detailLabel = form.querySelector(".detail-label");
  const detail = form.querySelector(".detail");
  const error = form.querySelector(".shutter-error");
  form.querySelector(".ask").addEventListener("click", () => {
    form.classList.remove("collapsed");
    const first = form.querySelector("input[type=radio]");
    if (first) first.focus();
  });
  for (const reason of app.config.reasons) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "radio";
    input.name = `reason-${tile.index}`;
    input.value = reason;
    input.addEventListener("change", () => {
      detailLabel.hidden = reason !== app.config.other_reason;
    });
    label.append(input, document.createTextNode(reason.replace(" (say why below)", "")));
    choices.append(label);
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const picked = form.querySelector("input[type=radio]:checked");
    if (!picked) {
      setText(error, "Pick a reason first.");
      return;
    }
    const button = form.querySelector(".open");
    button.disabled = true;
    try {
      const response = await request("POST", "/reason", {
        json: { feed: tile.index, reason: picked.value, detail: detail.value },
      });
      if (!response.ok) {
        setText(error, await reasonOf(response));
        return;
      }
      setText(error, "");
      await poll();
    } catch (failure) {
      if (!(failure instanceof LinkGone)) setText(error, "No answer from the control room. Try again.");
    } finally {
      button.disabled = false;
    }
  });
}

// -- Start ---------------------------------------------------------------------------------------

function start() {
  app.config = JSON.parse($("vigil-viewer").textContent);
  app.base = app.config.base;
  app.tiles = app.config.feeds.map(makeTile);
  app.config.feeds.forEach((feed, i) => show(app.tiles[i], feed));
  setText($("status"), "");
  poll();
  app.pollTimer = setInterval(poll, app.config.status_interval_s * 1000);
  window.addEventListener("pagehide", () => {
    for (const tile of app.tiles) if (tile.viewing) drop(tile, { tell: true });
  });
}

// For tests and support: what each tile has shown.
window.vigilViewer = {
  tiles: () =>
    app.tiles.map((t) => ({
      name: t.name,
      state: t.status.state,
      frames: t.frames,
      firstFrameMs: t.firstFrameMs,
      connection: t.pc ? t.pc.connectionState : null,
      shuttered: t.status.shuttered,
    })),
  ended: () => app.ended,
};

start();
