// Vigil caller page: asks for consent, then sends the phone's camera (WHIP, non-trickle)
// and location to the control room until the caller or the control room ends it.
//
// The person holding the phone may be frightened, in the dark and using one hand, so every
// failure ends in one plain sentence in #status and the page keeps doing whatever it still
// can: a blocked camera never stops the location, a lost location never stops the video.
// The contract with the gateway (paths, ids, states, status texts) is fixed; tests read it.
"use strict";

// Exact texts from the contract; tests compare #status with these.
const STATUS = Object.freeze({
  connecting: "Connecting…",
  live: "You are live with the control room",
  locationOnly: "Location only — shared with the control room",
  reconnecting: "Connection lost — reconnecting…",
  declined: "You declined. Nothing was shared.",
  ended: "Ended. Thank you.",
  gone: "This link can no longer be used",
});

const ICE_GATHERING_MAX_MS = 2000;
const DISCONNECTED_GRACE_MS = 3000;
// A connection that never reaches "connected" would otherwise wait for the browser's own
// ICE failure, which can take half a minute of "Connecting…".
const CONNECT_TIMEOUT_MS = 20000;
const RECONNECT_DELAYS_MS = [1000, 2000, 4000, 5000];
// While it sends, the phone hears from the media server several times a second (its
// receiver reports, requests for key frames, ICE's checks). Nothing for this long, and the
// page asks the control room whether it still has the video, seconds before the browser
// itself would call the connection "disconnected" (some 6 s after a media server died).
const SILENCE_MS = 2000;
const STATS_EVERY_MS = 500;
// Just connected, the control room may not have been told yet: its "no video" is not
// believed for this long.
const SETTLING_MS = 3000;
const FREE_TRY_EVERY_MS = 15000;
const DECLINE_RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16000];
const GEO_OPTIONS = Object.freeze({ enableHighAccuracy: true, maximumAge: 0, timeout: 20000 });
const GEO_RESTART_MS = 2000;

/** The gateway answered 410: the link is dead and nothing more should be tried. */
class LinkGone extends Error {}
/** The consent text shown is not the one the gateway holds (409). */
class ConsentChanged extends Error {}

const app = {
  config: null,
  base: "",
  finished: false, // declined or ended: nothing may start again
  sharing: false, // consent given and capture started

  // Video
  video: "off", // off | connecting | live | reconnecting | failed
  videoProblem: "", // plain reason when video is "failed"
  stream: null,
  track: null,
  facing: "environment",
  switching: false,
  pc: null,
  sender: null,
  whipUrl: null,
  whipAttempt: 0,
  everConnected: false,
  reconnects: 0,
  reconnectTimer: null,
  disconnectedTimer: null,
  connectTimer: null,
  statsTimer: null,
  connectedAt: 0,
  freeTryAt: -Infinity,

  // Location
  location: "off", // off | waiting | ok | failing | blocked
  locationProblem: "",
  geoWatch: null,
  geoRestartTimer: null,
  fix: null,
  locationInFlight: false,
  locationAgain: false,
  locationFailures: 0,
  locationTimer: null,

  wakeLock: null,
  retry: null, // what #retry does in the current state, or null to hide it
};

function $(id) {
  return document.getElementById(id);
}

// -- Screen ------------------------------------------------------------------------------

/** Show one of the contract's states with its one-line status and an optional hint. */
const CAMERA_STATES = new Set(["starting", "live", "reconnecting"]);

function show(state, status, detail = "") {
  document.body.dataset.state = state;
  // caller.css shows the preview only where there is a camera picture to show.
  const withPreview = CAMERA_STATES.has(state) && Boolean(app.config) && !app.config.location_only
    && app.video !== "failed";
  document.body.classList.toggle("with-preview", withPreview);
  // Only real changes: #status is a live region, and screen readers re-read every write.
  if ($("status").textContent !== status) $("status").textContent = status;
  if ($("detail").textContent !== detail) $("detail").textContent = detail;
}

function offerRetry(label, action) {
  app.retry = action;
  $("retry").textContent = label;
  $("retry").hidden = action === null;
}

function setLocationText(text) {
  $("location").textContent = text;
}

/**
 * Work out what to tell the caller from what video and location are doing right now, so
 * that no single event handler has to know about the other half.
 */
function refreshScreen() {
  if (app.finished || !app.sharing) return;
  if (app.config.location_only) {
    refreshLocationOnly();
  } else {
    refreshVideo();
  }
}

function refreshLocationOnly() {
  if (app.location === "ok") {
    show("live", STATUS.locationOnly, "Keep this page open. Your phone may ask again for your location.");
  } else if (app.location === "failing") {
    show("reconnecting", STATUS.reconnecting, "Your phone has lost its connection. This page keeps trying.");
  } else if (app.location === "blocked") {
    show("error", "Nothing is being shared: location is off", app.locationProblem);
  } else {
    show("starting", STATUS.connecting, "If your phone asks to use your location, tap Allow.");
  }
}

function refreshVideo() {
  if (app.video === "live") {
    show("live", STATUS.live, "Point your camera at what is happening. Keep this page open.");
  } else if (app.video === "reconnecting") {
    show("reconnecting", STATUS.reconnecting, "Keep this page open. It will carry on by itself.");
  } else if (app.video === "failed") {
    refreshVideoFailed();
  } else {
    show("starting", STATUS.connecting, "If your phone asks to use the camera or your location, tap Allow.");
  }
}

function refreshVideoFailed() {
  const why = `${app.videoProblem} ${cameraHint()}`.trim();
  if (app.location === "ok" || app.location === "failing") {
    show("live", "Camera off — your location is still shared", why);
  } else if (app.location === "blocked") {
    show("error", "Nothing is being shared: camera and location are both off", why);
  } else {
    show("starting", STATUS.connecting, why);
  }
}

function cameraHint() {
  if (!app.retry) return "";
  return "To share video, allow the camera for this site in your browser settings, then tap Try camera again.";
}

// -- Requests to the gateway ---------------------------------------------------------------

/** Same-origin request; any 410 ends the page at once, as the contract says. */
async function request(method, url, { json, sdp, keepalive = false } = {}) {
  const init = { method, credentials: "same-origin", cache: "no-store", keepalive, headers: {} };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (sdp !== undefined) {
    init.headers["Content-Type"] = "application/sdp";
    init.body = sdp;
  }
  const response = await fetch(url, init);
  if (response.status === 410) {
    linkGone();
    throw new LinkGone("410");
  }
  return response;
}

async function readState(response) {
  try {
    const body = await response.json();
    return typeof body.state === "string" ? body.state : "";
  } catch {
    return "";
  }
}

async function postConsent(answer, { keepalive = false } = {}) {
  const response = await request("POST", `${app.base}/consent`, {
    json: { answer, consent_sha256: app.config.consent_sha256 },
    keepalive,
  });
  if (response.status === 409) throw new ConsentChanged("409");
  if (!response.ok) throw new Error(`consent answered ${response.status}`);
  return readState(response);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// -- Consent ------------------------------------------------------------------------------

async function onAgree() {
  if (app.finished || app.sharing) return;
  setConsentBusy(true);
  try {
    await postConsent("agree");
  } catch (err) {
    if (err instanceof LinkGone) return;
    if (err instanceof ConsentChanged) {
      offerRetry("Try again", () => window.location.reload());
      show("error", "This page is out of date.",
        "Tap Try again to load the current version, then read it before you agree.");
      return;
    }
    // Still on the consent screen: nothing has started, so the caller can simply tap again.
    $("status").textContent =
      "Could not reach the control room. Check you have signal, then tap Agree again.";
    setConsentBusy(false);
    return;
  }
  startSharing();
}

function onDecline() {
  if (app.finished || app.sharing) return;
  // The caller's "no" takes effect on screen at once; telling the gateway can take retries.
  finish("declined", STATUS.declined, "Nothing from your phone was sent. If you still need help, call 999.");
  sendDecline();
}

async function sendDecline() {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await postConsent("decline");
      return;
    } catch (err) {
      if (err instanceof LinkGone || err instanceof ConsentChanged) return;
      if (attempt >= DECLINE_RETRY_DELAYS_MS.length) return;
      await sleep(DECLINE_RETRY_DELAYS_MS[attempt]);
    }
  }
}

function setConsentBusy(busy) {
  $("agree").disabled = busy;
  $("decline").disabled = busy;
}

// -- Sharing: start, end, stop -----------------------------------------------------------

async function startSharing() {
  app.sharing = true;
  document.body.classList.add("sharing");
  offerRetry(null, null);
  refreshScreen();
  keepScreenOn();
  startLocation();
  if (app.config.location_only) return; // never touches the camera, never POSTs /whip
  app.video = "connecting";
  refreshScreen();
  if (await startCamera()) connectWhip();
}

function onEnd() {
  if (app.finished) return;
  const whipUrl = app.whipUrl;
  const wasSharing = app.sharing;
  // Stop capture first: the caller asked for it to stop, and that must not wait on the network.
  finish("ended", STATUS.ended, "Your camera and location are no longer shared. You can close this page.");
  if (!wasSharing) return;
  // keepalive lets both requests finish even if the caller closes the tab straight away.
  const deleted = whipUrl
    ? request("DELETE", whipUrl, { keepalive: true }).catch(() => {})
    : Promise.resolve();
  deleted.then(() => postConsent("withdraw", { keepalive: true })).catch(() => {});
}

/** The gateway said 410: stop everything and say the link is dead. */
function linkGone() {
  if (app.finished) return;
  finish("ended", STATUS.gone, "If you still need help, call 999.");
}

/** The control room ended or revoked the link (seen in a location answer). */
function endedByControlRoom(state) {
  if (app.finished) return;
  if (state === "revoked") {
    finish("ended", STATUS.gone, "The control room has closed this link. If you still need help, call 999.");
  } else {
    finish("ended", STATUS.ended, "The control room has ended this. You can close this page.");
  }
}

function finish(state, status, detail) {
  app.finished = true;
  stopEverything();
  offerRetry(null, null);
  show(state, status, detail);
}

/** Release camera, connection, location and timers. Safe to call more than once. */
function stopEverything() {
  app.whipAttempt += 1; // any exchange still in flight sees it is stale
  clearTimeout(app.reconnectTimer);
  app.reconnectTimer = null;
  closePeer();
  stopCamera();
  stopLocation();
  releaseScreen();
}

// -- Camera -------------------------------------------------------------------------------

function cameraConstraints(facing, exact) {
  return {
    video: {
      facingMode: exact ? { exact: facing } : { ideal: facing },
      width: { ideal: 1280 },
      height: { ideal: 720 },
    },
    audio: false,
  };
}

/** Open the camera for the first time; on failure say why and carry on with location. */
async function startCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.RTCPeerConnection) {
    cameraFailed("This browser cannot send video.", false);
    return false;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia(cameraConstraints("environment", false));
    if (app.finished) {
      stream.getTracks().forEach((track) => track.stop());
      return false;
    }
    useCamera(stream, "environment");
    showSwitchIfSeveralCameras();
    return true;
  } catch (err) {
    if (app.finished) return false;
    cameraFailed(cameraProblem(err), true);
    return false;
  }
}

function cameraProblem(err) {
  switch (err && err.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "You did not allow the camera.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found on this phone.";
    case "NotReadableError":
    case "AbortError":
      return "Another app is using the camera.";
    default:
      return "The camera could not be started.";
  }
}

function cameraFailed(problem, canRetry) {
  app.video = "failed";
  app.videoProblem = problem;
  closePeer();
  stopCamera();
  offerRetry(canRetry ? "Try camera again" : null, canRetry ? retryCamera : null);
  refreshScreen();
}

async function retryCamera() {
  offerRetry(null, null);
  app.video = "connecting";
  refreshScreen();
  if (await startCamera()) connectWhip();
}

/** Put a new camera stream in use: preview, and the sender if a connection exists. */
function useCamera(stream, facing) {
  const track = stream.getVideoTracks()[0];
  const actual = track.getSettings ? track.getSettings().facingMode : undefined;
  app.stream = stream;
  app.track = track;
  app.facing = actual === "user" || actual === "environment" ? actual : facing;
  // Mirror only the selfie camera, as the phone's own camera app does; the sent video is not.
  $("preview").classList.toggle("mirrored", app.facing === "user");
  $("preview").srcObject = stream;
  $("preview").play().catch(() => {}); // autoplay attribute covers most browsers
  // The operating system can take the camera away (a phone call, another app).
  track.addEventListener("ended", onCameraLost);
  if (app.sender) app.sender.replaceTrack(track).catch(() => connectWhip());
}

function stopCamera() {
  if (app.stream) app.stream.getTracks().forEach((track) => track.stop());
  app.stream = null;
  app.track = null;
  $("preview").srcObject = null;
}

async function showSwitchIfSeveralCameras() {
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const cameras = devices.filter((device) => device.kind === "videoinput");
    $("switch-camera").hidden = cameras.length < 2;
  } catch {
    $("switch-camera").hidden = true;
  }
}

async function onSwitchCamera() {
  if (app.switching || !app.track || app.finished) return;
  app.switching = true;
  $("switch-camera").disabled = true;
  const from = app.facing;
  const to = from === "environment" ? "user" : "environment";
  // Many phones cannot open two cameras at once, so the old one goes first.
  app.track.removeEventListener("ended", onCameraLost);
  app.track.stop();
  try {
    useCamera(await openFacing(to), to);
  } catch {
    try {
      useCamera(await openFacing(from), from);
    } catch (err) {
      cameraFailed(cameraProblem(err), true);
    }
  } finally {
    app.switching = false;
    $("switch-camera").disabled = false;
  }
}

/** Ask for exactly this camera; phones that do not know facingMode get their default one. */
async function openFacing(facing) {
  try {
    return await navigator.mediaDevices.getUserMedia(cameraConstraints(facing, true));
  } catch (err) {
    if (err && err.name === "OverconstrainedError") {
      return navigator.mediaDevices.getUserMedia(cameraConstraints(facing, false));
    }
    throw err;
  }
}

function onCameraLost() {
  // A hidden page cannot reopen the camera; visibilitychange tries again when it is back.
  if (document.visibilityState === "visible") recoverCamera();
}

async function recoverCamera() {
  if (app.finished || app.switching || !app.sharing || app.config.location_only) return;
  if (app.track && app.track.readyState === "live") return;
  try {
    useCamera(await openFacing(app.facing), app.facing);
    if (!app.pc) connectWhip();
  } catch (err) {
    cameraFailed(cameraProblem(err), true);
  }
}

// -- WHIP -----------------------------------------------------------------------------------

/** Resolve when ICE gathering is complete, or after maxMs with whatever was gathered. */
function iceGatheringDone(pc, maxMs) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") {
      resolve();
      return;
    }
    const timer = setTimeout(done, maxMs);
    function check() {
      if (pc.iceGatheringState === "complete") done();
    }
    function done() {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    }
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/**
 * One WHIP exchange with the current camera track. Used for the first connection and for
 * every reconnection; the gateway replaces the old session, so the old one is not DELETEd.
 */
async function connectWhip() {
  if (app.finished || !app.track) return;
  clearTimeout(app.reconnectTimer);
  app.reconnectTimer = null;
  const attempt = ++app.whipAttempt;
  closePeer();
  const pc = new RTCPeerConnection({ iceServers: app.config.ice_servers || [] });
  app.pc = pc;
  app.sender = pc.addTransceiver(app.track, { direction: "sendonly", streams: [app.stream] }).sender;
  pc.addEventListener("connectionstatechange", () => onConnectionState(pc));
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await iceGatheringDone(pc, ICE_GATHERING_MAX_MS);
    if (attempt !== app.whipAttempt) return;
    const response = await request("POST", `${app.base}/whip`, { sdp: pc.localDescription.sdp });
    if (attempt !== app.whipAttempt) return;
    if (response.status === 403) {
      // Consent not on record, or a location-only link: retrying cannot fix it.
      cameraFailed("The control room did not accept the video.", false);
      return;
    }
    if (response.status !== 201) throw new Error(`WHIP answered ${response.status}`);
    const answer = await response.text();
    if (attempt !== app.whipAttempt) return;
    app.whipUrl = sessionUrl(response.headers.get("Location"));
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    app.connectTimer = setTimeout(() => {
      if (pc === app.pc && pc.connectionState !== "connected") reconnect();
    }, CONNECT_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof LinkGone || attempt !== app.whipAttempt) return;
    reconnect();
  }
}

/** The session URL from the Location header, kept only if it is on this origin. */
function sessionUrl(header) {
  if (!header) return null;
  try {
    const url = new URL(header, window.location.href);
    return url.origin === window.location.origin ? url.pathname : null;
  } catch {
    return null;
  }
}

function onConnectionState(pc) {
  if (pc !== app.pc || app.finished) return;
  switch (pc.connectionState) {
    case "connected":
      clearTimeout(app.disconnectedTimer);
      clearTimeout(app.connectTimer);
      app.disconnectedTimer = null;
      app.everConnected = true;
      app.reconnects = 0;
      app.connectedAt = performance.now();
      app.video = "live";
      watchIncoming(pc);
      refreshScreen();
      break;
    case "disconnected":
      suspectLost(pc);
      break;
    case "failed":
      reconnect();
      break;
    default:
      break;
  }
}

/**
 * The connection may be lost: often a brief network change (Wi-Fi to mobile data) that ICE
 * recovers by itself, so it gets a grace period; but if the control room says it has no
 * video from this phone, its media server lost the connection (it restarted, say) and no
 * waiting will bring it back: `onRoomState` offers again at once. One question per loss,
 * and none while the gateway is known to be unreachable.
 */
function suspectLost(pc) {
  if (pc !== app.pc || app.disconnectedTimer) return;
  app.disconnectedTimer = setTimeout(() => {
    app.disconnectedTimer = null;
    if (pc === app.pc && !receiving(pc)) reconnect();
  }, DISCONNECTED_GRACE_MS);
  if (app.locationFailures === 0) sendLocation(); // its answer says "live" or not
}

function receiving(pc) {
  return pc.connectionState === "connected" && !pc.silent;
}

/** Every STATS_EVERY_MS while connected: has anything come from the media server lately? */
function watchIncoming(pc) {
  clearInterval(app.statsTimer);
  let bytes = -1;
  let changedAt = performance.now();
  pc.silent = false;
  app.statsTimer = setInterval(async () => {
    if (pc !== app.pc || pc.connectionState !== "connected") return;
    let received = 0;
    try {
      (await pc.getStats()).forEach((report) => {
        if (report.type === "transport") received += report.bytesReceived || 0;
      });
    } catch {
      return;
    }
    const now = performance.now();
    if (received !== bytes) {
      bytes = received;
      changedAt = now;
      pc.silent = false;
    } else if (!pc.silent && now - changedAt >= SILENCE_MS) {
      pc.silent = true;
      suspectLost(pc);
    }
  }, STATS_EVERY_MS);
}

/** The link's state as the gateway last said it, against what the page believes. */
function onRoomState(state) {
  const pc = app.pc;
  if (state !== "consented" || !pc || app.reconnectTimer || app.finished) return;
  // "consented", not "live": the control room receives no video from this phone.
  const lost = pc.connectionState === "disconnected" || pc.silent;
  const settled = performance.now() - app.connectedAt >= SETTLING_MS;
  if (lost || (pc.connectionState === "connected" && settled)) reconnect({ atOnce: true });
}

/**
 * Close the connection and try the WHIP exchange again after a growing pause; `atOnce`
 * when the control room said its side is gone (the next try, if needed, still waits).
 */
function reconnect({ atOnce = false } = {}) {
  if (app.finished || app.reconnectTimer || !app.track) return;
  app.whipAttempt += 1; // whatever exchange is in flight is now stale
  closePeer();
  // Before the first connection "Connecting…" is still the truth; after it, say it was lost.
  app.video = app.everConnected ? "reconnecting" : "connecting";
  refreshScreen();
  // At most one free try in FREE_TRY_EVERY_MS: a control room that keeps saying "no video"
  // while the phone is connected is not answered with an offer every few seconds.
  if (atOnce && performance.now() - app.freeTryAt >= FREE_TRY_EVERY_MS) {
    app.freeTryAt = performance.now();
    app.reconnectTimer = setTimeout(() => {
      app.reconnectTimer = null;
      connectWhip();
    }, 0);
    return; // a free try: if it fails, the pauses start from the first
  }
  const delay = RECONNECT_DELAYS_MS[Math.min(app.reconnects, RECONNECT_DELAYS_MS.length - 1)];
  app.reconnects += 1;
  app.reconnectTimer = setTimeout(() => {
    app.reconnectTimer = null;
    connectWhip();
  }, delay);
}

function closePeer() {
  clearTimeout(app.disconnectedTimer);
  clearTimeout(app.connectTimer);
  clearInterval(app.statsTimer);
  app.disconnectedTimer = null;
  app.connectTimer = null;
  app.statsTimer = null;
  if (app.pc) app.pc.close();
  app.pc = null;
  app.sender = null;
  app.whipUrl = null;
}

// -- Location -------------------------------------------------------------------------------

function startLocation() {
  if (!("geolocation" in navigator)) {
    locationBlocked("this phone cannot share it.");
    return;
  }
  app.location = "waiting";
  setLocationText("Location: finding you…");
  watchLocation();
}

function watchLocation() {
  app.geoWatch = navigator.geolocation.watchPosition(onFix, onFixError, GEO_OPTIONS);
}

function stopLocation() {
  if (app.geoWatch !== null) navigator.geolocation.clearWatch(app.geoWatch);
  app.geoWatch = null;
  clearTimeout(app.geoRestartTimer);
  clearTimeout(app.locationTimer);
  app.locationTimer = null;
}

function onFix(position) {
  if (app.finished) return;
  const { coords } = position;
  const fix = {
    lat: coords.latitude,
    lon: coords.longitude,
    accuracy_m: coords.accuracy,
    at: position.timestamp / 1000,
  };
  // Both are null or NaN when the phone is standing still or does not know.
  if (Number.isFinite(coords.heading)) fix.heading = coords.heading;
  if (Number.isFinite(coords.speed)) fix.speed = coords.speed;
  app.fix = fix;
  setLocationText(`Location: ±${Math.round(coords.accuracy)} m`);
  // While the gateway is unreachable the back-off timer sends the newest fix; sending every
  // new fix at once would defeat the back-off.
  if (app.locationFailures === 0) sendLocation();
}

function onFixError(error) {
  if (app.finished) return;
  if (error.code === error.PERMISSION_DENIED) {
    locationBlocked("you did not allow it.");
    return;
  }
  // No fix yet (indoors, no signal): keep the last fix if there is one and look again.
  if (!app.fix) {
    setLocationText("Location off: no signal yet, still trying");
  }
  if (app.geoWatch !== null) navigator.geolocation.clearWatch(app.geoWatch);
  app.geoWatch = null;
  clearTimeout(app.geoRestartTimer);
  app.geoRestartTimer = setTimeout(() => {
    if (!app.finished) watchLocation();
  }, GEO_RESTART_MS);
}

function locationBlocked(reason) {
  stopLocation();
  app.location = "blocked";
  app.locationProblem =
    "To share your location, allow it for this site in your browser settings, then tap Try again.";
  setLocationText(`Location off: ${reason}`);
  if (app.config.location_only) offerRetry("Try again", retryLocation);
  refreshScreen();
}

function retryLocation() {
  offerRetry(null, null);
  startLocation();
  refreshScreen();
}

/**
 * POST the newest fix, one request at a time. After each answer the next send is set for
 * location_interval_s later (so the last fix is re-sent even when the phone stands still),
 * or sooner with back-off after a failure.
 */
async function sendLocation() {
  if (!app.fix || app.finished) return;
  if (app.locationInFlight) {
    app.locationAgain = true;
    return;
  }
  clearTimeout(app.locationTimer);
  app.locationInFlight = true;
  app.locationAgain = false;
  const intervalMs = locationIntervalMs();
  let delay = intervalMs;
  try {
    const response = await request("POST", `${app.base}/location`, { json: app.fix });
    if (!response.ok) throw new Error(`location answered ${response.status}`);
    const state = await readState(response);
    if (state === "ended" || state === "revoked") {
      endedByControlRoom(state);
      return;
    }
    app.locationFailures = 0;
    onRoomState(state);
    if (app.location !== "blocked") app.location = "ok";
  } catch (err) {
    if (err instanceof LinkGone) return;
    app.locationFailures += 1;
    delay = Math.min(1000 * 2 ** (app.locationFailures - 1), intervalMs);
    if (app.locationFailures >= 2 && app.location === "ok") app.location = "failing";
  } finally {
    app.locationInFlight = false;
  }
  if (app.finished) return;
  refreshScreen();
  if (app.locationAgain && app.locationFailures === 0) {
    sendLocation();
  } else {
    app.locationTimer = setTimeout(sendLocation, delay);
  }
}

function locationIntervalMs() {
  const seconds = Number(app.config.location_interval_s);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 5) * 1000;
}

// -- Screen lock, hidden page, leaving ------------------------------------------------------

/** Keep the screen on while sharing: a locked phone stops the camera. */
async function keepScreenOn() {
  if (!("wakeLock" in navigator) || app.wakeLock || document.visibilityState !== "visible") return;
  try {
    app.wakeLock = await navigator.wakeLock.request("screen");
    app.wakeLock.addEventListener("release", () => {
      app.wakeLock = null;
    });
  } catch {
    // Refused (battery saver, say): the page still works, the screen may just dim.
  }
}

function releaseScreen() {
  if (app.wakeLock) app.wakeLock.release().catch(() => {});
  app.wakeLock = null;
}

/** Back in front after another app: take up again whatever the phone paused. */
function onVisibilityChange() {
  if (document.visibilityState !== "visible" || app.finished || !app.sharing) return;
  keepScreenOn(); // the browser drops the lock whenever the page is hidden
  if (app.track && app.track.readyState === "ended") recoverCamera();
  if ($("preview").srcObject) $("preview").play().catch(() => {});
  if (app.fix && app.locationFailures === 0) sendLocation();
}

/**
 * The page is going away (tab closed, navigated). sendBeacon cannot DELETE, so the gateway
 * learns from the connection closing; what matters here is that the camera stops.
 */
function onPageHide() {
  if (!app.sharing || app.finished) return;
  stopEverything();
}

/** Restored from the back/forward cache after pagehide: consent stands, so start again. */
function onPageShow(event) {
  if (event.persisted && app.sharing && !app.finished) startSharing();
}

// -- Start ----------------------------------------------------------------------------------

function readConfig() {
  const config = JSON.parse($("vigil-link").textContent);
  if (typeof config.base !== "string" || typeof config.consent_sha256 !== "string") {
    throw new Error("link config incomplete");
  }
  return config;
}

/** Styles that depend on the kind of link. Every consent word comes from the server, so
 * the hash it records covers all the caller read. */
function fitWordsToLink(config) {
  document.body.dataset.kind = config.kind === "officer" ? "officer" : "caller";
  document.body.classList.toggle("location-only", Boolean(config.location_only));
}

function main() {
  try {
    app.config = readConfig();
  } catch {
    offerRetry("Try again", () => window.location.reload());
    show("error", "This page did not load properly.", "Tap Try again. If it still does not work, call 999.");
    return;
  }
  app.base = app.config.base.replace(/\/+$/, "");
  fitWordsToLink(app.config);
  $("agree").addEventListener("click", onAgree);
  $("decline").addEventListener("click", onDecline);
  $("end").addEventListener("click", onEnd);
  $("switch-camera").addEventListener("click", onSwitchCamera);
  $("retry").addEventListener("click", () => {
    if (app.retry) app.retry();
  });
  document.addEventListener("visibilitychange", onVisibilityChange);
  window.addEventListener("pagehide", onPageHide);
  window.addEventListener("pageshow", onPageShow);
  // The buttons come disabled in the page, saying it is getting ready: a tap before this
  // script has loaded (a slow mobile connection) must never do nothing and say nothing.
  setConsentBusy(false);
  show("consent", "");
}

main();
