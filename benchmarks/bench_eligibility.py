"""Benchmark of the national Zonas Rezagadas emulation (issue 18) on the real data.

The run measured is what ``geogaps rezago`` does: the commune table and contiguity, the national
travel times at the catalogue's resolution (1 km) to the destinations of the isolation index,
the political-administrative centres, the SUBDERE-style index on every populated cell with its
speed draws, the calibration to the published counts and the criteria. It runs in a child
process, so the peak RSS printed is its own (the loading of the embedded store does not count).

Prints wall time, CPU time and peak RSS, and the calibrated threshold and count as a check.

Usage: ``.venv/bin/python benchmarks/bench_eligibility.py [--data-dir ../shared/data/chile]``
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This checkout's packages first, not an installed copy of geogaps.
sys.path.insert(0, str(ROOT))


def child(store_dir: Path, data_dir: Path) -> None:
    """One national run; print its times, own peak RSS and calibration (for the parent)."""
    from geo_service.services.eligibility import eligibility
    from layers.rasters import LAND_COVER_FILE
    from layers.stores import EmbeddedStore

    store = EmbeddedStore(store_dir)
    started = time.perf_counter()
    cpu_started = time.process_time()
    result, _ = eligibility(store, None, land_cover=data_dir / LAND_COVER_FILE)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    calibration = result.calibration or {}
    print(
        f"RESULT {seconds:.1f} {cpu:.1f} {peak_mb:.0f} "
        f"{calibration.get('umbral')} {calibration.get('susceptibles')} {len(result.communes)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".." / "shared/data/chile")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.store_dir, args.data_dir)
        return

    # Here, not at the top: the child measures its own memory without the loader's imports.
    from bench_accessibility import loaded_store

    with loaded_store(args.data_dir) as store_dir:
        output = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--store-dir",
                str(store_dir),
                "--data-dir",
                str(args.data_dir),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        line = next(x for x in output.splitlines() if x.startswith("RESULT"))
        _, took, cpu, peak, threshold, count, communes = line.split()
        print(
            f"elegibilidad nacional (índice de aislamiento SUBDERE emulado, 1 km, 200 sorteos): "
            f"{took} s de reloj, {cpu} s de CPU, RSS máxima {int(peak) / 1024:.2f} GB"
        )
        print(
            f"umbral calibrado {threshold}: {count} comunas susceptibles de {communes} "
            "(rango publicado 120–135)"
        )


if __name__ == "__main__":
    main()
