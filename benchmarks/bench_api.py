"""The serving API: /scores with 1 and 500 runs, cached reads against the floor, cold /gaps.

The measures live in :mod:`run_all` (sections ``scores``, ``reads`` and ``gaps``); this script
runs only those sections of it::

    .venv/bin/python benchmarks/bench_api.py --database-url URL [--quick] [--json]

Same options as ``run_all.py``: its scratch databases (the national data with one run, and a
copy with 500 runs) are created on the server of the URL and dropped at the end, and the
newest run changes before every block of ``/scores`` requests.
"""

from __future__ import annotations

import sys

from run_all import main

if __name__ == "__main__":
    raise SystemExit(main(["--only", "scores,reads,gaps", *sys.argv[1:]]))
