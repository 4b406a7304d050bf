"""An evidence bundle's layout: its file names, its SHA256SUMS and its README, in one place.

An export (app/evidence/bundle/export.py) writes a bundle and `vigil evidence verify`
(app/evidence/bundle/check.py) reads one; both take the names and formats from here, so they
cannot drift apart. A bundle is a folder:

    media/CLIP-….ts   the clip, stream-copied from the recorded segments (media/clips/cut.py)
    manifest.json     what it is and where it came from (app/evidence/bundle/manifest.py)
    manifest.sig      Ed25519 signature over manifest.json's exact bytes (64 raw bytes)
    public_key.pem    the signing instance's public key (app/evidence/bundle/signing.py)
    README.txt        how a court's expert checks all of it with standard tools
    SHA256SUMS        `sha256sum -c` input for every other file

No Qt here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from app.evidence.bundle.signing import grouped

SCHEMA = "vigil-evidence-bundle-1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
README = "README.txt"
SUMS = "SHA256SUMS"
MEDIA_DIR = "media"

# The commands README.txt gives, kept here so the tests run exactly these.
SUMS_COMMAND = f"sha256sum -c {SUMS}"
SIGNATURE_COMMAND = (
    f"openssl pkeyutl -verify -pubin -inkey {PUBLIC_KEY} -rawin -in {MANIFEST} -sigfile {SIGNATURE}"
)
FINGERPRINT_COMMAND = f"openssl pkey -pubin -in {PUBLIC_KEY} -outform DER | tail -c 32 | sha256sum"
JQ_COMMAND = f"jq -jcS '.segments[0].entry' {MANIFEST} | sha256sum"
PYTHON_COMMAND = (
    "python3 -c 'import hashlib,json;"
    f'm=json.load(open("{MANIFEST}"));'
    '[print(k,e["entry"]["id"],hashlib.sha256(json.dumps(e["entry"],sort_keys=True,'
    'separators=(",",":"),ensure_ascii=False).encode()).hexdigest()==e["entry_hash"])'
    ' for k in ("segments","custody") for e in m[k]]\''
)
FFPROBE_COMMAND = (
    "ffprobe -v error -select_streams v:0 -show_entries frame=key_frame,pts_time "
    "-of compact=p=0 {media}"
)

_SUMS_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The manifest as written and signed: indented JSON for people to read, UTF-8, one
    final newline. The signature covers these bytes, never a re-serialisation."""
    text = json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def sums_text(hashes: Iterable[tuple[str, str]]) -> str:
    """`sha256sum` output for (relative path, sha256) pairs: "HASH  PATH", sorted by path.
    Paths are the bundle's own names (letters, digits, '-', '.', '/'), so none needs the
    backslash escaping sha256sum uses for odd names."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(hashes))


def parse_sums(text: str) -> list[tuple[str, str]]:
    """(path, sha256) per line of a SHA256SUMS; ValueError naming the first bad line."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _SUMS_LINE.match(line)
        if match is None:
            raise ValueError(f"{SUMS} line {number} is not 'SHA256  PATH': {line[:80]!r}")
        found.append((match.group(2), match.group(1)))
    return found


def readme_text(
    *,
    clip_id: str,
    feed_name: str,
    media_file: str,
    first_frame: str,
    last_frame: str,
    fingerprint: str,
    exported_at: str,
    exported_by: str,
) -> str:
    """README.txt: what the bundle is and how to check it with sha256sum, openssl, jq,
    python3 and ffprobe alone (the commands are run as written by the tests)."""
    return f"""Evidence bundle {clip_id}
Exported {exported_at} by {exported_by} with Vigil.

What is here
  {media_file}
      The recording of {feed_name} from {first_frame} to {last_frame} (UTC, the first
      and last video frames inside the tagged range), copied packet for packet from the
      recorded segments, never re-encoded. It begins at the key frame before the range
      (the pre-roll, stated in manifest.json), so that the first frame decodes.
  {MANIFEST}
      Everything about it: the tag, who made and exported it, the times, the source,
      the recorded segments' ledger entries, the custody entries, the GPS track, the
      caller's consent where the feed is a caller, and each file's SHA-256.
  {SIGNATURE}
      The Ed25519 signature of the exact bytes of {MANIFEST}.
  {PUBLIC_KEY}
      The exporting instance's public key. Its fingerprint (SHA-256 of the raw 32-byte
      key) is
          {grouped(fingerprint)}
      Compare it with the fingerprint the control room publishes for this instance.
  {SUMS}
      The SHA-256 of every other file.

How to check it (standard tools only; run each in this folder)

1. No file has changed since the export. Every line must end in OK:
       {SUMS_COMMAND}

2. The manifest is the one the instance signed. It must print
   "Signature Verified Successfully" (OpenSSL 3.0 or later):
       {SIGNATURE_COMMAND}
   and the key's fingerprint must be the one above:
       {FINGERPRINT_COMMAND}

3. The media is the file the manifest describes: "files" in {MANIFEST} gives each file's
   sha256 and bytes, which step 1's sums must match.

4. The recorded segments the clip was cut from are the ones in the instance's ledger.
   Each item of "segments" (and of "custody", the custody log's entries about the clip)
   holds the ledger row as it was hashed ("entry") and its hash ("entry_hash"). The hash
   is SHA-256 over the entry as JSON with sorted keys and no whitespace:
       {JQ_COMMAND}
   must print .segments[0].entry_hash, and so on for each; each entry's prev_hash must be
   the entry_hash of the one before it (for entries whose ids follow each other). All at
   once, with Python 3:
       {PYTHON_COMMAND}
   prints True for every entry. "heads" gives the chains' newest hashes at export time:
   the instance's ledger must still hold them (vigil audit verify prints its heads).

5. Frames and their times:
       {FFPROBE_COMMAND.format(media=media_file)}
   lists every picture with its presentation time in seconds. "media" > "timeline" in
   {MANIFEST} says which presentation time is which UTC time: a frame at pts_time t is at
   utc + (t - pts_s), taking the last timeline point whose pts_s is at or before t.

On the instance itself, `vigil evidence verify FOLDER` runs all of these checks.
"""
