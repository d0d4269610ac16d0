"""OGC API – Features items and vector tiles, geogaps vs developmentseed's tipg.

The measure lives in :mod:`run_all` (section ``ogc``, plus ``growth``: the same items with ten
times the facilities); this script runs only those sections of it::

    .venv/bin/python benchmarks/bench_ogc.py --database-url URL [--quick] [--json]

Same options as ``run_all.py`` (its own scratch databases on the server of the URL, dropped at
the end). Ratios are geogaps ÷ tipg, both asked for the same properties, 1 and 8 clients.
"""

from __future__ import annotations

import sys

from run_all import main

if __name__ == "__main__":
    raise SystemExit(main(["--only", "ogc,growth", *sys.argv[1:]]))
