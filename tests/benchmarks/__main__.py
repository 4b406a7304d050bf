"""`python -m tests.benchmarks` (what `make bench` runs): the wall benchmark."""

import sys

from tests.benchmarks.bench_wall import main

sys.exit(main())
