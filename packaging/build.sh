#!/usr/bin/env bash
# Builds the one-folder Vigil (dist/vigil/vigil) with packaging/vigil.spec, then proves the
# result works by running it: what the build leaves out only shows when the frozen program
# runs, so a build that has not been run is not a build.
#
#   bash packaging/build.sh            (what `make package` runs; from anywhere in the repo)
#
# Checks, each failing the script:
#   0. packaging/vigil.desktop and the AppStream file validate (where the validators are);
#   1. no bundled binary needs a Qt or FFmpeg library that is not in the bundle (such as one
#      the spec dropped); other libraries neither bundled nor on this system are listed;
#   2. `vigil snapshot --demo` renders the nine-feed demo wall to a PNG over 50 KB, which
#      needs the offscreen platform plugin, PyAV's FFmpeg (x264 in the sender, H.264 decode
#      in the wall), FreeType for the burnt-in text and the frozen `_demo-sender`;
#   3. `vigil status` with no instance exits 3;
#   4. `vigil run --demo --offscreen` starts (qasync, control socket), `vigil status` gets its
#      nine feeds, and it stops cleanly on SIGTERM.
# Environment: VENV (default .venv), VIGIL_CLEAN=1 to rebuild without PyInstaller's cache.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
DIST="dist/vigil"
APP="$DIST/vigil"
KEEP="build/vigil-check"  # what the checks produced, kept for a person to look at

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'build.sh: FAILED: %s\n' "$*" >&2; exit 1; }

[ -x "$PY" ] || fail "no virtual environment at $VENV (run \`make package\`, which builds it)"
pyinstaller_ok='import sys, PyInstaller as p; sys.exit(tuple(map(int, p.__version__.split(".")[:2])) < (6, 6))'
if ! "$PY" -c "$pyinstaller_ok" 2>/dev/null; then
    say "installing PyInstaller into $VENV"
    "$VENV/bin/pip" install -q "pyinstaller>=6.6"
fi

say "validating the desktop entry and AppStream metadata"
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate packaging/vigil.desktop || fail "packaging/vigil.desktop is not valid"
    echo "vigil.desktop: ok"
else
    echo "desktop-file-validate not installed (apt-get install desktop-file-utils): skipped"
fi
if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net packaging/uk.police.vigil.metainfo.xml ||
        fail "packaging/uk.police.vigil.metainfo.xml is not valid"
else
    echo "appstreamcli not installed (apt-get install appstream): skipped"
fi

say "building $APP with PyInstaller $("$PY" -m PyInstaller --version)"
rm -rf "$DIST"
clean=()
[ "${VIGIL_CLEAN:-0}" = 1 ] && clean=(--clean)
started=$SECONDS
"$PY" -m PyInstaller --noconfirm "${clean[@]}" --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/vigil.spec
build_s=$((SECONDS - started))
[ -x "$APP" ] || fail "PyInstaller made no $APP"
echo "built in ${build_s}s"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/vigil-package.XXXXXX")"
run_pid=""
cleanup() {
    if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
        kill -TERM "$run_pid" 2>/dev/null || true
        sleep 2
        kill -KILL "$run_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
show_log() {  # the instance's own log says why it failed
    local log="$1/logs/vigil.log"
    [ -f "$log" ] && { echo "--- tail of $log"; tail -n 40 "$log"; } >&2
    return 0
}

say "check 1: every bundled binary finds the libraries it needs"
missing="$(
    internal="$DIST/_internal"
    bundled="$(find "$DIST" \( -type f -o -type l \) -name '*.so*' -printf '%f\n' | sort -u)"
    system="$(ldconfig -p | awk '/=>/ {print $1}' | sort -u)"
    find "$internal" -type f \( -name '*.so' -o -name '*.so.*' \) -print0 |
        { xargs -0 -r -n 64 readelf -d 2>/dev/null || true; } |
        awk '/^File: / {file=$2} /\(NEEDED\)/ {gsub(/[\[\]]/, "", $5); print $5 "\t" file}' |
        sort -u |
        while IFS=$'\t' read -r lib file; do
            grep -qxF "$lib" <<<"$bundled" && continue
            grep -qxF "$lib" <<<"$system" && continue
            printf '%s\t%s\n' "$lib" "${file#"$internal"/}"
        done
)"
if [ -n "$missing" ]; then
    qt_missing="$(grep -E '^libQt6|^lib(av|sw)[a-z]*\.so' <<<"$missing" || true)"
    other="$(grep -vE '^libQt6|^lib(av|sw)[a-z]*\.so' <<<"$missing" || true)"
    if [ -n "$other" ]; then
        echo "not bundled and not on this system (optional plugins; the user's system provides):"
        cut -f1 <<<"$other" | sort | uniq -c | sed 's/^/   /'
    fi
    if [ -n "$qt_missing" ]; then
        echo "$qt_missing" >&2
        fail "bundled binaries need Qt/FFmpeg libraries the build left out"
    fi
fi
echo "ok"

say "check 2: snapshot of the demo wall"
rm -rf "$KEEP" && mkdir -p "$KEEP"
started=$SECONDS
if ! QT_QPA_PLATFORM=offscreen timeout 120 "$APP" snapshot --demo --out "$tmp/wall.png" --after 4 \
        --base-dir "$tmp/base"; then
    show_log "$tmp/base"
    fail "vigil snapshot --demo exited non-zero"
fi
[ -f "$tmp/wall.png" ] || fail "vigil snapshot wrote no $tmp/wall.png"
png_bytes=$(stat -c %s "$tmp/wall.png")
cp "$tmp/wall.png" "$KEEP/wall.png"
if [ "$png_bytes" -le 51200 ]; then
    show_log "$tmp/base"
    fail "wall.png is only $png_bytes bytes: the tiles show no video (kept in $KEEP/wall.png)"
fi
echo "ok: $KEEP/wall.png, $png_bytes bytes, in $((SECONDS - started))s"

say "check 3: status with no instance exits 3"
set +e
timeout 60 "$APP" status --base-dir "$tmp/none" >"$tmp/status.out" 2>&1
rc=$?
set -e
if [ "$rc" -ne 3 ]; then
    cat "$tmp/status.out" >&2
    fail "vigil status with no instance exited $rc, expected 3"
fi
echo "ok: $(cat "$tmp/status.out")"

say "check 4: run the demo wall offscreen, ask it for its status, stop it"
"$APP" run --demo --offscreen --base-dir "$tmp/run" >"$tmp/run.out" 2>&1 &
run_pid=$!
feeds=""
for _ in $(seq 60); do
    if ! kill -0 "$run_pid" 2>/dev/null; then
        cat "$tmp/run.out" >&2; show_log "$tmp/run"; fail "vigil run exited early"
    fi
    if "$APP" status --base-dir "$tmp/run" >"$tmp/status.json" 2>/dev/null; then
        feeds="$("$PY" -c '
import json, sys
feeds = json.load(open(sys.argv[1]))["feeds"]
live = [f for f in feeds if f["state"] == "live" and f["frames"] > 0]
print(f"{len(feeds)} feeds, {len(live)} live") if len(live) == len(feeds) == 9 else sys.exit(1)
' "$tmp/status.json")" && break
    fi
    sleep 1
done
if [ -z "$feeds" ]; then
    cat "$tmp/status.json" >&2 || true; show_log "$tmp/run"
    fail "vigil run --demo never reported nine live feeds"
fi
kill -TERM "$run_pid"
for _ in $(seq 20); do kill -0 "$run_pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$run_pid" 2>/dev/null; then
    show_log "$tmp/run"; fail "vigil run did not stop within 20 s of SIGTERM"
fi
set +e
wait "$run_pid"
rc=$?
set -e
run_pid=""
if [ "$rc" -ne 0 ]; then
    cat "$tmp/run.out" >&2; show_log "$tmp/run"; fail "vigil run exited $rc on SIGTERM"
fi
echo "ok: $feeds; stopped cleanly"

say "done"
echo "built in ${build_s}s; all checks passed"
du -sh "$DIST"
