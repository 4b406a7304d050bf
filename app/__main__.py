"""`python -m app` runs the `vigil` command line."""

import sys

from app.cli import main

sys.exit(main())
