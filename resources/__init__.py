"""Files Vigil ships beside its code: icons, and later the caller page, QML and theme."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
ICON = ROOT / "icons" / "vigil.svg"
