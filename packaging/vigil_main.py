"""PyInstaller's entry script: the frozen `vigil` is `app.cli.main`, exiting with its code.

The console script that pip installs does the same; PyInstaller needs a file to start from.
The demo's sender runs as `vigil _demo-sender` (app/feeds/demo.py), so this one program is also
the sender when frozen.
"""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
