"""Export a tagged clip as an evidence bundle a court's expert can check with standard tools.

`export_clip` finds the clip's recorded segments in the ledger, checks them (each entry's
hash and chain link, each file's SHA-256: media that fails its own ledger check is never
exported), cuts the clip out of them by stream copy (media/clips/cut.py), writes the
manifest (app/evidence/bundle/manifest.py), signs it with the instance's key
(app/evidence/bundle/signing.py) and adds the public key, a README and SHA256SUMS
(app/evidence/bundle/layout.py). Then it records an `export` custody entry naming the folder, the
manifest's SHA-256 and the key's fingerprint.

The bundle is written into a hidden sibling folder and renamed into place only when whole
and fsynced, so a crash never leaves a half bundle that looks whole: at worst a
`.NAME.partial-…` folder. An existing folder is refused unless `force`, and even then only
one that is a bundle (holds a manifest.json) or empty is replaced: `--force` must never
delete someone's documents.

It opens its own database connection, so it may run on any thread (the Review window runs
it on a worker and shows `progress`). No Qt here.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from app.config import Config, SigningKeyStore
from app.database import open_database
from app.evidence.bundle import layout as bundle
from app.evidence.bundle.manifest import Exported, build_manifest, find_source
from app.evidence.bundle.signing import SigningKeyError, instance_key
from app.evidence.clips import ClipBook, ClipError
from app.evidence.clock_sync import clock_sync
from app.evidence.custody import CustodyAction, CustodyLog, os_user
from app.evidence.hashchain import GENESIS, hash_file, parse_utc, utc_text
from app.evidence.ledger import Problem, ProblemKind, SegmentEntry, SegmentLedger
from app.paths import BaseDir
from media.clips import (
    ClipCutError,
    CutResult,
    CutSegment,
    Gap,
    NoRecordingError,
    SegmentChangedError,
    cut_clip,
)
from media.recording import fsync_folder

Progress = Callable[[float, str], None]
_CHECK, _CUT = 0.2, 0.9
"""Where checking the segments ends and cutting ends, as fractions of the progress bar."""


class ExportError(Exception):
    """The export was refused or failed; the text says why, for the person who asked."""


class ExportTargetError(ExportError):
    """The folder asked for cannot take a bundle: not a folder, not empty, not a bundle."""


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    files: tuple[str, ...]
    """Every file in the bundle, relative to the folder, "/"-separated."""
    media: Path
    first_frame_utc: float
    """Unix time of the first video frame inside the range; `last_frame_utc` the last."""
    last_frame_utc: float
    key_frame_utc: float
    """Where the media begins: the key frame at or before the first frame (the pre-roll)."""
    first_packet_utc: float
    frames: int
    """Video frames inside the range."""
    gaps: tuple[Gap, ...]
    segments: tuple[int, ...]
    """Ledger ids of the segments the media was cut from."""
    fingerprint: str
    """The signing key's: SHA-256 of the raw public key, hex."""
    manifest_sha256: str
    custody_entry: int
    notes: tuple[str, ...]

    @property
    def preroll_s(self) -> float:
        return self.first_frame_utc - self.key_frame_utc


def export_clip(
    base: BaseDir,
    clip_id: str,
    out: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    actor: str | None = None,
    config: Config | None = None,
) -> ExportResult:
    """Write clip `clip_id`'s bundle to the folder `out`. `actor` is who exports (the
    operating-system user by default); `config` names the feed's source URL. Raises
    ExportError, with nothing left at `out`, when anything stops it."""
    say: Progress = progress or (lambda fraction, what: None)
    out = Path(os.path.abspath(Path(out).expanduser()))
    refuse_target(out, force)
    recordings = base.recordings.resolve()
    if out.resolve() == recordings or recordings in out.resolve().parents:
        raise ExportTargetError(f"{out} is inside the recordings folder; export elsewhere")
    if not base.database.exists():
        raise ExportError(f"no database at {base.database}: this base dir holds no clips")
    say(0.0, "opening the clip")
    db = open_database(base.database)
    try:
        return _Export(db, base, say, actor or os_user(), config).run(clip_id, out, force)
    finally:
        db.close()


def _looks_like_bundle(folder: Path) -> bool:
    return (folder / bundle.MANIFEST).is_file() or not any(folder.iterdir())


def refuse_target(out: Path, force: bool) -> None:
    """ExportTargetError unless `out` may receive a bundle: absent, an empty folder, or
    (with `force`) a bundle to replace. Checked before any work, here and on a desk whose
    room server exports for it."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ExportTargetError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ExportTargetError(f"{out} exists and is not empty (--force replaces a bundle)")
        if not _looks_like_bundle(out):
            raise ExportTargetError(f"{out} is not an evidence bundle; refusing to replace it")


class _Export:
    def __init__(
        self,
        db: sqlite_utils.Database,
        base: BaseDir,
        say: Progress,
        actor: str,
        config: Config | None,
    ) -> None:
        self.db, self.base, self.say, self.actor, self.config = db, base, say, actor, config
        self.ledger = SegmentLedger(db, base.recordings)
        self.custody = CustodyLog(db)

    def run(self, clip_id: str, out: Path, force: bool) -> ExportResult:
        try:
            clip = ClipBook(self.db, self.custody).get(clip_id)
        except ClipError as exc:
            raise ExportError(str(exc)) from None
        span_text = f"{clip.feed_name} from {utc_text(clip.start_utc)} to {utc_text(clip.end_utc)}"
        candidates = self.ledger.segments_between(clip.feed_name, clip.start_utc, clip.end_utc)
        if not candidates:
            raise ExportError(f"no recording of {span_text}: nothing exported")
        span = self._span(clip.feed_name, candidates)
        self._check(span, candidates)
        try:
            # Before the cut: a keyring problem should not cost minutes. Where the key is
            # kept is [evidence] signing_key (app/evidence/bundle/signing.py).
            store = self.config.evidence.signing_key if self.config else SigningKeyStore.KEYRING
            key = instance_key(self.base, store)
        except SigningKeyError as exc:
            raise ExportError(str(exc)) from exc
        out.parent.mkdir(parents=True, exist_ok=True)
        work = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
        work.mkdir()
        try:
            media_name = f"{bundle.MEDIA_DIR}/{clip.id}.ts"
            (work / bundle.MEDIA_DIR).mkdir()
            cut = self._cut(candidates, clip.start_utc, clip.end_utc, work / media_name, span_text)
            now = time.time()
            self.say(_CUT, "writing the manifest")
            readme = bundle.readme_text(
                clip_id=clip.id,
                feed_name=clip.feed_name,
                media_file=media_name,
                first_frame=utc_text(cut.first_frame_utc),
                last_frame=utc_text(cut.last_frame_utc),
                fingerprint=key.fingerprint,
                exported_at=utc_text(now),
                exported_by=self.actor,
            ).encode()
            written = {
                media_name: (cut.sha256, cut.bytes),
                bundle.PUBLIC_KEY: _write(work / bundle.PUBLIC_KEY, key.public_pem()),
                bundle.README: _write(work / bundle.README, readme),
            }
            manifest = bundle.manifest_bytes(
                build_manifest(
                    self.db,
                    clip,
                    source=find_source(self.db, clip, self.config),
                    cut=cut,
                    media_file=media_name,
                    cut_from=candidates,
                    span=span,
                    custody=self.custody.entries(clip.id),
                    heads={
                        "segments": self.ledger.heads(),
                        "custody": {"head": self.custody.head(), "entries": self.custody.count()},
                    },
                    files=written,
                    exported=Exported(self.actor, now, key.fingerprint, clock_sync()),
                )
            )
            written[bundle.MANIFEST] = _write(work / bundle.MANIFEST, manifest)
            written[bundle.SIGNATURE] = _write(work / bundle.SIGNATURE, key.sign(manifest))
            sums = bundle.sums_text((path, digest) for path, (digest, _) in written.items())
            _write(work / bundle.SUMS, sums.encode())
            self.say(0.97, "saving the bundle")
            _fsync_tree(work)
            install_bundle(work, out, force)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        manifest_sha256 = written[bundle.MANIFEST][0]
        entry = self._record(clip.id, out, manifest_sha256, key.fingerprint, cut.first_frame_utc)
        self.say(1.0, "exported")
        return ExportResult(
            folder=out,
            files=tuple(sorted([*written, bundle.SUMS])),
            media=out / media_name,
            first_frame_utc=cut.first_frame_utc,
            last_frame_utc=cut.last_frame_utc,
            key_frame_utc=cut.key_frame_utc,
            first_packet_utc=cut.first_packet_utc,
            frames=cut.frames_in_range,
            gaps=cut.gaps,
            segments=tuple(candidates[i].id for i in cut.segments_used),
            fingerprint=key.fingerprint,
            manifest_sha256=manifest_sha256,
            custody_entry=entry,
            notes=cut.notes,
        )

    def _span(self, feed: str, candidates: list[SegmentEntry]) -> list[SegmentEntry]:
        """The feed's entries from the first candidate to the last, by id: the stretch of
        chain the manifest carries, whole, so that every link in it can be checked."""
        low, high = min(e.id for e in candidates), max(e.id for e in candidates)
        rows = self.db.table("segments").rows_where(
            "feed_name = ? AND id BETWEEN ? AND ?", [feed, low, high], order_by="id"
        )
        return [SegmentEntry.from_row(row) for row in rows]

    def _check(self, span: list[SegmentEntry], candidates: list[SegmentEntry]) -> None:
        """Every entry in the span hashes and links as stored, and every candidate's file
        is there and hashes as its entry says; ExportError naming each problem if not."""
        before = self.db.execute(
            "SELECT entry_hash FROM segments WHERE feed_name = ? AND id < ? ORDER BY id DESC "
            "LIMIT 1",
            [span[0].feed_name, span[0].id],
        ).fetchone()
        problems: list[Problem] = self.ledger.check_chain(
            span, str(before[0]) if before else GENESIS, files=False
        )
        for n, entry in enumerate(candidates):
            self.say(_CHECK * n / len(candidates), f"checking segment {n + 1} of {len(candidates)}")
            if not self.ledger.file(entry).is_file():  # a file retention removed is gone too
                problems.append(
                    entry.problem(ProblemKind.FILE_MISSING, f"no file at {self.ledger.file(entry)}")
                )
                continue
            problems += self.ledger.check_file(entry)
        if problems:
            listed = "\n".join(f"  {p}" for p in sorted(problems, key=lambda p: p.entry_id or 0))
            raise ExportError(
                "the recording fails its ledger check, so it is not exported "
                f"(run `vigil audit verify` for the whole ledger):\n{listed}"
            )

    def _cut(
        self, candidates: list[SegmentEntry], start: float, end: float, media: Path, span: str
    ) -> CutResult:
        segments = [
            CutSegment(
                self.ledger.file(e), parse_utc(e.start_utc).timestamp(), e.sha256, f"segment {e.id}"
            )
            for e in candidates
        ]

        def step(fraction: float, what: str) -> None:
            self.say(_CHECK + (_CUT - _CHECK) * fraction, what)

        try:
            return cut_clip(segments, start, end, media, progress=step)
        except NoRecordingError:
            raise ExportError(f"no recorded frame of {span}: nothing exported") from None
        except SegmentChangedError as exc:
            entry = candidates[exc.index]
            raise ExportError(
                f"segment {entry.id} ({entry.feed_name} seq {entry.seq}, {entry.path}) changed "
                f"while it was exported: {exc.size} bytes now hash to {exc.sha256[:16]}…, the "
                f"ledger says {entry.sha256[:16]}…; nothing exported"
            ) from None
        except ClipCutError as exc:
            raise ExportError(f"{span} could not be cut: {exc}") from None

    def _record(
        self, clip_id: str, out: Path, manifest_sha256: str, fingerprint: str, first: float
    ) -> int:
        """The custody entry; if it cannot be written the bundle goes too: an export the
        custody log does not know of must not leave the building."""
        try:
            entry = self.custody.append(
                CustodyAction.EXPORT,
                clip_id,
                {
                    "folder": str(out),
                    "manifest_sha256": manifest_sha256,
                    "fingerprint": fingerprint,
                    "first_frame_utc": utc_text(first),
                },
                actor=self.actor,
            )
        except Exception as exc:
            shutil.rmtree(out, ignore_errors=True)
            raise ExportError(
                f"the export could not be recorded in the custody log ({exc}), so {out} was "
                "removed; nothing exported"
            ) from exc
        return entry.id


def _write(path: Path, data: bytes) -> tuple[str, int]:
    with open(path, "xb") as file:
        file.write(data)
    return hash_file(path)


def _fsync_tree(root: Path) -> None:
    """Every file and folder on the disk before the rename makes the bundle visible."""
    for folder, _, names in os.walk(root):
        for name in names:
            fd = os.open(Path(folder) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_folder(Path(folder))


def install_bundle(work: Path, out: Path, force: bool) -> None:
    """Rename the finished folder `work` into place at `out` (a desk's, fetched from its
    room server, likewise). An existing bundle (with `force`) is moved
    aside first and removed after: rename(2) cannot swap two full folders in one step."""
    old = None
    if out.exists():
        if any(out.iterdir()):
            refuse_target(out, force)  # checked again: it may have changed meanwhile
            old = out.parent / f".{out.name}.replaced-{secrets.token_hex(4)}"
            os.rename(out, old)
        else:
            out.rmdir()
    try:
        os.rename(work, out)
    except BaseException:
        if old is not None:
            with contextlib.suppress(OSError):
                os.rename(old, out)
        raise
    fsync_folder(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
