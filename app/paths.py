"""Where an instance keeps what it writes: database, recordings, certificates, socket, logs.

`--base-dir DIR` puts all of it under DIR, so tests and a second instance never touch
the user's own; without it, platformdirs decides.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "vigil"
_SOCKET_PATH_MAX = 104  # sun_path is 104 bytes on macOS, 108 on Linux


class BaseDirError(Exception):
    pass


@dataclass(frozen=True)
class BaseDir:
    root: Path

    @classmethod
    def resolve(cls, base_dir: str | os.PathLike[str] | None) -> BaseDir:
        if base_dir is not None:
            return cls(Path(base_dir).expanduser().resolve())
        return cls(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))

    def ensure(self) -> BaseDir:
        """Create the folders, private to their owner."""
        for folder in (self.root, self.run_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        os.chmod(self.run_dir, 0o700)
        return self

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def control_socket(self) -> Path:
        path = self.run_dir / "control.sock"
        if len(os.fsencode(path)) >= _SOCKET_PATH_MAX:
            raise BaseDirError(f"base dir path too long for a control socket: {self.root}")
        return path

    @property
    def wall_state(self) -> Path:
        return self.root / "wall.json"

    @property
    def database(self) -> Path:
        return self.root / "vigil.db"

    @property
    def recordings(self) -> Path:
        """Segment files, one closed MPEG-TS file each, as the evidence ledger names them."""
        return self.root / "recordings"

    @property
    def certificates(self) -> Path:
        """The gateway's own TLS certificate and key, when the operator gives none."""
        return self.root / "certificates"


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "vigil.toml"
