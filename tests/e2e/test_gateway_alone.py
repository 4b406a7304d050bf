"""`vigil gateway` on its own: no wall, the same endpoints, status through `vigil status`."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.harness import _env, vigil
from tests.servers import free_port, wait_for

pytestmark = pytest.mark.network


def test_gateway_alone_serves_links_and_reports(short_tmp: Path) -> None:
    """In: `vigil gateway` with a config listening on a loopback port, a link made with
    `vigil link create`, a phone opening it once and a second phone after it.
    Out: the gateway prints where it listens; the first open gets the page (200) over
    HTTPS with the self-made certificate, whose fingerprint `vigil status` reports; the
    second gets 410; `vigil status` lists the caller's feed waiting for an answer; SIGTERM
    stops it with exit 0; the key file is private (0600)."""
    port = free_port()
    config = short_tmp / "vigil.toml"
    config.write_text(f'[gateway]\nlisten = "127.0.0.1:{port}"\n')
    base = short_tmp / "base"
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "gateway", "--config", str(config), "--base-dir", str(base)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert process.stdout is not None
        assert f"127.0.0.1:{port}" in process.stdout.readline()
        made = vigil("link", "create", "--config", config, "--base-dir", base, "--name", "Kim")
        url = made.stdout.strip().splitlines()[-1].replace("localhost", "127.0.0.1")
        unchecked = ssl.create_default_context()
        unchecked.check_hostname = False
        unchecked.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(url, context=unchecked, timeout=10) as first:
            assert first.status == 200
            assert "vigil_device=" in first.headers["Set-Cookie"]
        with pytest.raises(urllib.error.HTTPError) as second:
            urllib.request.urlopen(url, context=unchecked, timeout=10)
        assert second.value.code == 410

        def answered() -> str | None:
            status = vigil("status", "--base-dir", base)
            return status.stdout if status.returncode == 0 else None

        answer = json.loads(wait_for(answered, 60, "vigil status to answer", interval_s=0.2))
        assert answer["gateway"]["listening"] is True
        assert len(answer["gateway"]["certificate_sha256"].split(":")) == 32
        (feed,) = answer["feeds"]
        assert feed["kind"] == "caller"
        assert feed["name"].startswith("Kim")
        assert feed["error"] == "link opened; waiting for the caller's answer"
        assert oct((base / "certificates" / "gateway-key.pem").stat().st_mode & 0o777) == "0o600"
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
