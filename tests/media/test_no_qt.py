"""media/ works with no Qt at all: importing every module loads neither PySide6 nor app/widgets."""

import pkgutil
import subprocess
import sys

import media


def test_media_imports_no_qt() -> None:
    modules = [m.name for m in pkgutil.walk_packages(media.__path__, "media.")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'app', 'widgets')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
