"""python -m tests.bench (see tests/bench/runner.py)."""

import sys

from tests.bench.runner import main

sys.exit(main())
