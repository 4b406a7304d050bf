"""Evidence bundles: what leaves the building for a court. Export cuts a clip from its
segments, gathers the manifest from the records, signs it with the instance's Ed25519 key and
writes README.txt and SHA256SUMS (layout.py names every file); check re-does every check from
the bundle alone. Kept apart from app/evidence/'s names: it brings PyAV, cryptography and the
keyring, which the recorder and the command line's other subcommands do not need."""

from app.evidence.bundle.check import BundleReport, NotABundleError, check_bundle
from app.evidence.bundle.export import (
    ExportError,
    ExportResult,
    ExportTargetError,
    export_clip,
    install_bundle,
    refuse_target,
)
from app.evidence.bundle.layout import MANIFEST
from app.evidence.bundle.signing import SigningKeyError, grouped, instance_fingerprint

__all__ = [
    "MANIFEST",
    "BundleReport",
    "ExportError",
    "ExportResult",
    "ExportTargetError",
    "NotABundleError",
    "SigningKeyError",
    "check_bundle",
    "export_clip",
    "grouped",
    "install_bundle",
    "instance_fingerprint",
    "refuse_target",
]
