"""Time the siting tool on one region: surfaces, candidate cost distances and the solvers.

For a region (default 04, Coquimbo) the script runs the same code as ``geogaps siting``:
the accessibility pipeline restricted to the region (population surface, friction, travel time
to existing facilities), the demand cells and the bounded candidate set with one windowed
``MCP_Geometric`` cost distance per candidate, then spopt's MCLP (and p-median, whose matrix
needs unbounded cost distances) solved with CBC. It prints each phase's time and the size of
the integer programme. The data are loaded once into a throwaway embedded store (not timed).

Usage::

    python benchmarks/bench_siting.py [--data-dir DIR] [--store-dir DIR] [--region 04]
        [--facility primary] [--new 5] [--minutes 60] [--candidates 60] [--pmedian-candidates 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from analysis.decision.siting import Model  # noqa: E402
from geo_service.services.siting import siting  # noqa: E402
from layers.loading import load_directory  # noqa: E402
from layers.rasters import LAND_COVER_FILE  # noqa: E402
from layers.stores import EmbeddedStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, default=PROJECT_ROOT / ".." / "shared" / "data" / "chile"
    )
    parser.add_argument("--store-dir", type=Path, help="An embedded store already loaded.")
    parser.add_argument("--region", default="04")
    parser.add_argument("--facility", default="primary")
    parser.add_argument("--new", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--candidates", type=int, default=60)
    parser.add_argument("--pmedian-candidates", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        store_dir = args.store_dir or Path(scratch) / "store"
        store = EmbeddedStore(store_dir)
        if args.store_dir is None:
            started = time.perf_counter()
            load_directory(store, args.data_dir.resolve())
            print(f"carga (no medida en lo que sigue): {time.perf_counter() - started:.1f} s")
        land_cover = args.data_dir.resolve() / LAND_COVER_FILE
        runs: tuple[tuple[Model, int], ...] = (
            ("mclp", args.candidates),
            ("pmedian", args.pmedian_candidates),
        )
        for model, candidates in runs:
            started = time.perf_counter()
            report = siting(
                store, land_cover, args.facility, args.new, args.minutes, args.region,
                max_candidates=candidates, model=model,
            )  # fmt: skip
            total = time.perf_counter() - started
            run, summary = report.parameters, report.result.summary
            seconds = run["seconds"]
            print(
                f"{model}: región {args.region}, {args.facility}, p={args.new}, "
                f"T={args.minutes:g} min; "
                f"{run['demand_cells']} celdas de demanda × {run['candidates_kept']} candidatos "
                f"(de {run['candidates_considered']})"
            )
            print(
                f"  superficies {seconds['surfaces']:.2f} s; demanda, candidatos y costos "
                f"{seconds['demand_candidates_costs']:.2f} s; resolución {seconds['solve']:.2f} s; "
                f"total {total:.2f} s"
            )
            print(
                f"  cobertura {summary['share_before']:.4f} → {summary['share_after']:.4f}; "
                f"ganancia {summary['gain']:.0f} hab.; tiempo medio "
                f"{summary['mean_minutes_before']:.1f} → {summary['mean_minutes_after']:.1f} min"
            )


if __name__ == "__main__":
    main()
