"""Checking an evidence bundle from the bundle alone: what `vigil evidence verify` runs.

`check_bundle(folder)` re-does every check README.txt describes, with nothing but the
folder's own files: each SHA256SUMS line (and no file slipped in beside them), each file the
manifest lists (SHA-256 and size; and nothing it does not list, since SHA256SUMS is
unsigned), the manifest's Ed25519 signature against the bundle's
public key and that key's fingerprint against the one the manifest states, every ledger
entry's hash recomputed by the ledger's recipe (app/evidence/ledger.py) and every chain link between
consecutive entries, and every custody entry's hash and link (app/evidence/custody.py). Each failed
check is a `Failure` naming the file or entry ("manifest.json: signature does not match").

Whether the key is this instance's is the caller's question (app/commands/evidence_export.py asks
the keyring): a bundle can be whole and properly signed by another instance. No Qt here.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature

from app.evidence import custody as custody_module
from app.evidence import ledger as ledger_module
from app.evidence.bundle import layout as bundle
from app.evidence.bundle.signing import fingerprint, load_public_pem
from app.evidence.hashchain import hash_entry, hash_file

_Link = Callable[[Any, Any], str | None]
"""Says what is wrong if `after` does not link to `before`; None where it need not."""


class NotABundleError(Exception):
    """The path is not a folder at all (bad input, not a failed check)."""


@dataclass(frozen=True)
class Failure:
    """One failed check: what it concerns (a file, "segment 42", "custody entry 7") and
    what is wrong with it."""

    what: str
    problem: str

    def __str__(self) -> str:
        return f"{self.what}: {self.problem}"


@dataclass(frozen=True)
class BundleReport:
    folder: Path
    failures: tuple[Failure, ...]
    clip_id: str | None
    fingerprint: str | None
    """Of the public key in the bundle (None when it cannot be read)."""
    counts: dict[str, int] = field(default_factory=dict)
    """What was checked: files, segments, custody entries."""

    @property
    def valid(self) -> bool:
        return not self.failures


def verify_bundle(folder: Path) -> list[Failure]:
    """Every failed check of the bundle in `folder`; an empty list means it is whole and
    its signature holds. NotABundleError when `folder` is not a folder."""
    return list(check_bundle(folder).failures)


def check_bundle(folder: Path) -> BundleReport:
    """Every check of the bundle in `folder`. A folder with no manifest is a bundle that fails
    (an expert handed a folder of stray files learns it the way every other failure is told,
    exit 1 from `vigil evidence verify`); only a path that is no folder at all raises
    `NotABundleError`, a mistake in the command rather than a finding about the evidence."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotABundleError(f"{folder} is not a folder")
    if not (folder / bundle.MANIFEST).is_file():
        failure = Failure("not an evidence bundle", f"no {bundle.MANIFEST}")
        return BundleReport(folder, (failure,), None, None, {})
    check = _Check(folder)
    check.run()
    return BundleReport(
        folder, tuple(check.failures), check.clip_id, check.fingerprint, check.counts
    )


def _safe(folder: Path, name: str) -> Path | None:
    """The file a bundle-relative name points at, or None when it would leave the folder."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return folder.joinpath(*path.parts)


class _Check:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.failures: list[Failure] = []
        self.clip_id: str | None = None
        self.fingerprint: str | None = None
        self.counts: dict[str, int] = {}

    def fail(self, what: str, problem: str) -> None:
        self.failures.append(Failure(what, problem))

    def run(self) -> None:
        data = (self.folder / bundle.MANIFEST).read_bytes()
        self._sums()
        self._signature(data)
        try:
            manifest = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.fail(bundle.MANIFEST, f"not readable JSON ({exc})")
            return
        if not isinstance(manifest, dict) or manifest.get("schema") != bundle.SCHEMA:
            schema = manifest.get("schema") if isinstance(manifest, dict) else None
            self.fail(bundle.MANIFEST, f"schema {schema!r} is not {bundle.SCHEMA!r}")
            return
        clip = manifest.get("clip")
        self.clip_id = clip.get("id") if isinstance(clip, dict) else None
        stated = _get(manifest, "signing_key", "fingerprint_sha256")
        if self.fingerprint is not None and stated != self.fingerprint:
            self.fail(
                bundle.PUBLIC_KEY,
                f"its fingerprint {self.fingerprint[:16]}… is not the one the manifest states "
                f"({str(stated)[:16]}…)",
            )
        self._files(manifest)
        self._chain(manifest, "segments", ledger_module.SCHEMA, self._segment_link)
        self._chain(manifest, "custody", custody_module.SCHEMA, _custody_link)

    def _sums(self) -> None:
        sums = self.folder / bundle.SUMS
        if not sums.is_file():
            self.fail(bundle.SUMS, "missing")
            return
        try:
            lines = bundle.parse_sums(sums.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self.fail(bundle.SUMS, str(exc))
            return
        listed = set()
        for name, digest in lines:
            listed.add(name)
            path = _safe(self.folder, name)
            if path is None:
                self.fail(bundle.SUMS, f"{name!r} points outside the bundle")
            elif not path.is_file():
                self.fail(name, f"listed in {bundle.SUMS} but missing")
            elif hash_file(path)[0] != digest:
                self.fail(name, f"SHA-256 differs from {bundle.SUMS}")
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file()):
            name = path.relative_to(self.folder).as_posix()
            if name != bundle.SUMS and name not in listed:
                self.fail(name, f"not listed in {bundle.SUMS} (added after the export?)")
        self.counts["files"] = len(lines) + 1

    def _signature(self, data: bytes) -> None:
        try:
            key = load_public_pem((self.folder / bundle.PUBLIC_KEY).read_bytes())
        except FileNotFoundError:
            self.fail(bundle.PUBLIC_KEY, "missing, so the signature cannot be checked")
            return
        except ValueError as exc:
            self.fail(bundle.PUBLIC_KEY, f"not an Ed25519 public key ({exc})")
            return
        self.fingerprint = fingerprint(key)
        try:
            signature = (self.folder / bundle.SIGNATURE).read_bytes()
        except FileNotFoundError:
            self.fail(bundle.SIGNATURE, "missing, so the manifest is unsigned")
            return
        try:
            key.verify(signature, data)
        except InvalidSignature:
            self.fail(
                bundle.MANIFEST,
                f"signature does not match ({bundle.MANIFEST} or {bundle.SIGNATURE} changed "
                f"since signing, or another key signed it)",
            )

    def _files(self, manifest: Mapping[str, Any]) -> None:
        files = manifest.get("files")
        if not isinstance(files, list):
            self.fail(bundle.MANIFEST, 'no "files" list')
            return
        named = set()
        for item in files:
            name, digest, size = (_get(item, k) for k in ("path", "sha256", "bytes"))
            path = _safe(self.folder, str(name))
            named.add(name)
            if path is None:
                self.fail(bundle.MANIFEST, f"file {name!r} points outside the bundle")
            elif not path.is_file():
                self.fail(str(name), "listed in the manifest but missing")
            else:
                actual, actual_size = hash_file(path)
                if actual != digest:
                    self.fail(str(name), "SHA-256 differs from the manifest")
                if actual_size != size:
                    self.fail(str(name), f"{actual_size} bytes, the manifest says {size}")
        # SHA256SUMS is not signed: a file added with a line of its own there passes
        # `_sums`, so the signed list is what says which files the export wrote.
        own = {bundle.MANIFEST, bundle.SIGNATURE, bundle.SUMS}
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file()):
            name = path.relative_to(self.folder).as_posix()
            if name not in own and name not in named:
                self.fail(name, f"not in {bundle.MANIFEST}'s files (added after the export?)")
        media_list = manifest.get("media")
        for media in media_list if isinstance(media_list, list) else []:
            if _get(media, "file") not in named:
                self.fail(bundle.MANIFEST, f"media {_get(media, 'file')!r} is not in its files")

    def _chain(self, manifest: Mapping[str, Any], key: str, schema: str, link: _Link) -> None:
        items = manifest.get(key)
        if not isinstance(items, list):
            self.fail(bundle.MANIFEST, f'no "{key}" list')
            return
        self.counts[key] = len(items)
        label = "segment" if key == "segments" else "custody entry"
        for item in items:
            entry, stored = _get(item, "entry"), _get(item, "entry_hash")
            if not isinstance(entry, dict) or entry.get("schema") != schema:
                self.fail(f"{label} {_get(entry, 'id')}", f"not a {schema} entry")
                continue
            computed = hash_entry(entry)
            if computed != stored:
                self.fail(
                    f"{label} {entry.get('id')}",
                    f"entry hash does not match its fields (stated {str(stored)[:16]}…, "
                    f"recomputed {computed[:16]}…)",
                )
        for before, after in itertools.pairwise(items):
            problem = link(_get(before, "entry"), _get(after, "entry"))
            if problem is not None and _get(after, "entry", "prev_hash") != _get(
                before, "entry_hash"
            ):
                self.fail(f"{label} {_get(after, 'entry', 'id')}", problem)

    @staticmethod
    def _segment_link(before: Any, after: Any) -> str | None:
        """Entries of one feed in id order follow each other in its chain (the export
        carries every entry between the first and the last)."""
        if _get(before, "feed_name") != _get(after, "feed_name"):
            return None
        return (
            f"prev_hash does not match segment {_get(before, 'id')}'s entry_hash (the chain "
            "is broken between them)"
        )


def _custody_link(before: Any, after: Any) -> str | None:
    """Custody entries link only where their ids follow each other: the log is one chain,
    and the clip's entries are a few of its links."""
    first, second = _get(before, "id"), _get(after, "id")
    if not isinstance(first, int) or second != first + 1:
        return None
    return f"prev_hash does not match custody entry {first}'s entry_hash"


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj
