"""Benchmark of the accessibility pipeline on the real national data.

Prints, in one run:

* the national 1 km pipeline time (all six destination kinds; target < 60 s on 2 cores), wall
  clock and CPU (the CPU figure is the one to compare on a machine shared with other work);
* the national 500 m pipeline time and its peak RSS (run in a child process so the figure is
  its own; target < 3 GB);
* exactextract against rasterstats on the same zonal job (mean minutes and population sum of
  every commune over the 1 km rasters).

Usage: ``.venv/bin/python benchmarks/bench_accessibility.py [--data-dir ../shared/data/chile]``
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from rasterstats import zonal_stats

from analysis.accessibility import LandCover, run_accessibility
from analysis.accessibility.grid import CONTINENTAL
from geo_service.services.inputs import read_analysis_inputs
from layers.loading import load_directory
from layers.rasters import LAND_COVER_FILE, read_land_cover
from layers.stores import EmbeddedStore

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def loaded_store(data_dir: Path) -> Iterator[Path]:
    """A throwaway embedded store holding ``data_dir`` (its load time printed, not counted)."""
    with tempfile.TemporaryDirectory() as folder:
        store_dir = Path(folder) / "store"
        started = time.perf_counter()
        loaded = load_directory(EmbeddedStore(store_dir), data_dir)
        if loaded.failures:
            raise SystemExit(f"load failed: {loaded.failures}")
        print(f"carga del almacén embebido (no cuenta): {time.perf_counter() - started:.1f} s")
        yield store_dir


def _run(store_dir: Path, data_dir: Path, resolution: float):
    store = EmbeddedStore(store_dir)
    inputs = read_analysis_inputs(store)
    raster = read_land_cover(data_dir / LAND_COVER_FILE)
    started = time.perf_counter()
    cpu_started = time.process_time()
    result = run_accessibility(
        inputs,
        resolution=resolution,
        land_cover=LandCover(raster.classes, raster.transform, raster.crs, raster.nodata),
        roads=store.read_table("road_segments"),
        villages=store.read_table("villages"),
    )
    return result, time.perf_counter() - started, time.process_time() - cpu_started


def child(store_dir: Path, data_dir: Path, resolution: float) -> None:
    """Run one resolution and print its time and own peak RSS (for the parent to read)."""
    result, seconds, cpu = _run(store_dir, data_dir, resolution)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cells = sum(g.grid.width * g.grid.height for g in result.grids.values())
    print(f"RESULT {seconds:.1f} {cpu:.1f} {peak_mb:.0f} {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".." / "shared/data/chile")
    parser.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--store-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.store_dir, args.data_dir, args.child)
        return

    with loaded_store(args.data_dir) as store_dir:
        result, seconds, cpu = _run(store_dir, args.data_dir, 1000.0)
        grid = result.grids[CONTINENTAL].grid
        print(
            f"nacional 1 km, 6 destinos: {seconds:.1f} s de reloj, {cpu:.1f} s de CPU "
            f"(grilla continental {grid.width}×{grid.height}; objetivo < 60 s)"
        )
        for resolution in (1000.0, 500.0):
            output = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(resolution),
                    "--store-dir",
                    str(store_dir),
                    "--data-dir",
                    str(args.data_dir),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            line = next(x for x in output.splitlines() if x.startswith("RESULT"))
            _, took, cpu_child, peak, cells = line.split()
            print(
                f"nacional {resolution / 1000:g} km (proceso propio): {took} s de reloj, "
                f"{cpu_child} s de CPU, "
                f"RSS máxima {int(peak) / 1024:.2f} GB, {int(cells):,} celdas (objetivo < 3 GB)"
            )

        # Same zonal job with both libraries: mean minutes to primary care and population sum.
        continental = result.grids[CONTINENTAL]
        minutes = np.where(
            np.isfinite(continental.minutes["primary"]), continental.minutes["primary"], -1.0
        )
        communes = read_analysis_inputs(EmbeddedStore(store_dir)).communes
        communes = communes[communes["cut"].isin(result.population["cut"])]
        communes = communes[~communes["cut"].isin(["05104", "05201"])]
        projected = communes.to_crs(grid.crs).rename_geometry("geometry")[["cut", "geometry"]]
        started = time.perf_counter()
        exact_extract(
            [
                NumPyRasterSource(
                    minutes,
                    *grid.bounds,
                    nodata=-1.0,
                    name="minutes",
                    srs_wkt=projected.crs.to_wkt(),
                ),
                NumPyRasterSource(
                    continental.population,
                    *grid.bounds,
                    name="population",
                    srs_wkt=projected.crs.to_wkt(),
                ),
            ],
            projected,
            ["mean", "sum"],
            output="pandas",
        )
        exact_seconds = time.perf_counter() - started
        started = time.perf_counter()
        zonal_stats(projected, minutes, affine=grid.transform, nodata=-1.0, stats=["mean"])
        zonal_stats(
            projected, continental.population, affine=grid.transform, nodata=-1.0, stats=["sum"]
        )
        rasterstats_seconds = time.perf_counter() - started
        print(
            f"estadística zonal ({len(projected)} comunas, 2 rásteres 1 km): exactextract "
            f"{exact_seconds:.2f} s, rasterstats {rasterstats_seconds:.2f} s, "
            f"razón rasterstats/exactextract = {rasterstats_seconds / exact_seconds:.1f}×"
        )


if __name__ == "__main__":
    main()
