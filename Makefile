# Vigil's two set-up commands: `make run` (opens the wall; the demo when nothing is
# configured) and `make test` (everything the tests need, then lint, types, layers, tests).
# Both work on a fresh Debian 12 machine: they apt-get what is missing and build .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# What Qt needs to open a window, and what the tests run against: FFmpeg's tools, the
# GStreamer RTSP server (run with the system python3, which has gi), gnome-keyring and
# D-Bus for a private Secret Service, Xvfb for a real window, Chromium as the caller's phone,
# jq and openssl: an evidence bundle's README.txt commands are run as written. Janus, the
# WebRTC SFU `vigil server` runs, is needed to run a room as much as to test one.
APT_RUN := python3-venv python3-pip libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 \
	libfontconfig1 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 \
	libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 fonts-dejavu-core \
	janus srt-tools
APT_TEST := $(APT_RUN) ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
	gstreamer1.0-plugins-ugly gstreamer1.0-tools gnome-keyring dbus xvfb chromium \
	jq openssl srt-tools

.PHONY: run demo test lint check-layers unit bench package clean

define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "apt-get install:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

.apt-run.stamp: Makefile
	$(call apt_install,$(APT_RUN))
	@touch $@

.apt-test.stamp: Makefile
	$(call apt_install,$(APT_TEST))
	@touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"
	@touch $@

run: .apt-run.stamp $(VENV)/.installed
	$(BIN)/vigil run $(ARGS)

demo: .apt-run.stamp $(VENV)/.installed
	$(BIN)/vigil run --demo $(ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check app widgets media resources tests packaging/vigil_main.py
	$(BIN)/mypy
	$(BIN)/lint-imports

test: .apt-test.stamp $(VENV)/.installed lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

# `make bench` runs every benchmark in turn; `make bench ARGS=room` (or wall, caller, map,
# evidence, reconnect) one of them, e.g. `make bench ARGS="room --feeds 4 --quick"`.
bench: .apt-test.stamp $(VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.benchmarks $(ARGS)

package: .apt-run.stamp $(VENV)/.installed
	bash packaging/build.sh

clean:
	rm -rf $(VENV) build dist .apt-*.stamp bench-results
