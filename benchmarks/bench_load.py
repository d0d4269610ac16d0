"""Benchmark: the full national load into PostGIS, and geogaps vs ``ogr2ogr`` on the same files.

Issue 2 asks for the whole national load in under 20 s on a 2-core machine, and for bulk loading
no slower than ``ogr2ogr -f PostgreSQL`` (Debian ``gdal-bin``) on the same boundary and facility
files. This script measures both in one run, interleaved, and prints the figures::

    eval "$(scripts/postgis.sh start)"      # throwaway PostGIS; exports GEOGAPS_TEST_DATABASE_URL
    .venv/bin/python benchmarks/bench_load.py [--repeat 3] [--json]

The server comes from ``--database-url``, else ``GEOGAPS_DATABASE_URL``, else
``GEOGAPS_TEST_DATABASE_URL``. Only the server is used: the script creates its own scratch
database on it (``--scratch-db``, default ``geogaps_bench``, marked with a comment so that a
leftover of an interrupted run can be recognised and replaced), and drops it at the end. It
never touches the database named in the URL.

Each repetition does, in this order (the geogaps / ogr2ogr order alternates between
repetitions so that neither side always runs on a warm cache):

1. ``load_directory(store, data_dir, force=True)`` into a freshly truncated schema;
2. for the boundary file (kind ``communes``) and the facility file (kind ``facilities``):
   ``load_file(..., force=True)`` on the schema loaded in step 1 (prerequisites present), and
   ``ogr2ogr -f PostgreSQL ... -overwrite -t_srs EPSG:4326 -nlt PROMOTE_TO_MULTI`` into a
   ``bench_*`` table of the same scratch database.

Median seconds over the repetitions are reported. geogaps does more than ogr2ogr: it checks CUT
codes, repairs geometries (make_valid), removes duplicates, flags points outside their declared
commune and writes provenance, all in one transaction.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from layers.loading import load_directory, load_file
from layers.stores import PostgisStore

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = PROJECT_ROOT / ".." / "shared" / "data" / "chile"
TARGET_SECONDS = 20.0
SCRATCH_COMMENT = "geogaps benchmark scratch database (benchmarks/bench_load.py); safe to drop"
URL_VARIABLES = ("GEOGAPS_DATABASE_URL", "GEOGAPS_TEST_DATABASE_URL")

#: (label, geogaps kind, path relative to the data folder, ogr2ogr target table)
FILES: tuple[tuple[str, str, str, str], ...] = (
    ("boundaries", "communes", "boundaries/comunas_chile_345.gpkg", "bench_communes"),
    (
        "facilities",
        "facilities",
        "services/establecimientos_salud_deis_2026.gpkg",
        "bench_facilities",
    ),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL of the PostGIS server to use")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--scratch-db", default="geogaps_bench", help="scratch database name")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.database_url is None:
        args.database_url = next((os.environ[v] for v in URL_VARIABLES if os.environ.get(v)), None)
    if not args.database_url:
        parser.error(
            "no database: pass --database-url or set GEOGAPS_DATABASE_URL / "
            'GEOGAPS_TEST_DATABASE_URL (eval "$(scripts/postgis.sh start)" sets the latter)'
        )
    args.data_dir = args.data_dir.resolve()
    return args


# -- scratch database ------------------------------------------------------------------------


def _admin_engine(url: URL) -> Any:
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def create_scratch(url: URL, name: str) -> URL:
    """Create database ``name`` with PostGIS; replace it only if it is a leftover of ours."""
    engine = _admin_engine(url)
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if exists:
                comment = connection.execute(
                    text(
                        "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                        "WHERE datname = :n"
                    ),
                    {"n": name},
                ).scalar()
                if comment != SCRATCH_COMMENT:
                    raise SystemExit(
                        f"database {name!r} already exists and was not created by this "
                        "benchmark; refusing to touch it (pass --scratch-db OTHER_NAME)"
                    )
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            connection.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{SCRATCH_COMMENT}'"))
    finally:
        engine.dispose()
    target = url.set(database=name)
    engine = create_engine(target)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    finally:
        engine.dispose()
    return target


def drop_scratch(url: URL, name: str) -> None:
    engine = _admin_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


# -- timed steps -----------------------------------------------------------------------------


def time_full_load(store: PostgisStore, data_dir: Path) -> dict[str, Any]:
    store.truncate_all()
    started = time.perf_counter()
    result = load_directory(store, data_dir, force=True)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "datasets": {r.dataset: r.seconds for r in result.reports},
        "rows_loaded": sum(r.rows_loaded for r in result.reports),
        "failures": dict(result.failures),
    }


def time_geogaps_file(store: PostgisStore, kind: str, path: Path) -> tuple[float, int, int]:
    started = time.perf_counter()
    report = load_file(store, kind, path, force=True)
    return time.perf_counter() - started, report.rows_read, report.rows_loaded


def ogr_connection(url: URL) -> tuple[str, dict[str, str]]:
    """The ``PG:`` datasource of ``url`` and the environment (password kept off the cmdline)."""
    parts = [f"host={url.host or '127.0.0.1'}", f"port={url.port or 5432}"]
    if url.username:
        parts.append(f"user={url.username}")
    parts.append(f"dbname={url.database}")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return "PG:" + " ".join(parts), env


def time_ogr2ogr(ogr2ogr: str, url: URL, path: Path, table: str) -> float:
    datasource, env = ogr_connection(url)
    command = [
        ogr2ogr,
        "--config",
        "PG_USE_COPY",
        "YES",
        "-f",
        "PostgreSQL",
        datasource,
        str(path),
        "-nln",
        table,
        "-overwrite",
        "-lco",
        "GEOMETRY_NAME=geom",
        "-t_srs",
        "EPSG:4326",
        "-nlt",
        "PROMOTE_TO_MULTI",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"ogr2ogr failed on {path.name}: {done.stderr.strip()}")
    return seconds


def count_rows(url: URL, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
    finally:
        engine.dispose()


# -- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir: Path = args.data_dir
    if not data_dir.is_dir():
        raise SystemExit(f"data folder not found: {data_dir}")
    ogr2ogr = shutil.which("ogr2ogr")
    ogr_version = None
    if ogr2ogr:
        ogr_version = subprocess.run(
            [ogr2ogr, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()

    server = make_url(args.database_url)
    url = create_scratch(server, args.scratch_db)
    store = PostgisStore(url.render_as_string(hide_password=False))
    full: list[dict[str, Any]] = []
    per_file: dict[str, dict[str, Any]] = {
        label: {"kind": kind, "file": rel, "geogaps": [], "ogr2ogr": []}
        for label, kind, rel, _ in FILES
    }
    try:
        store.migrate()
        for repetition in range(args.repeat):
            full.append(time_full_load(store, data_dir))
            for label, kind, relative, table in FILES:
                path = data_dir / relative
                entry = per_file[label]
                steps = ["geogaps", "ogr2ogr"] if repetition % 2 == 0 else ["ogr2ogr", "geogaps"]
                for step in steps:
                    if step == "geogaps":
                        seconds, read, loaded = time_geogaps_file(store, kind, path)
                        entry["geogaps"].append(seconds)
                        entry["rows_read"], entry["geogaps_rows"] = read, loaded
                    elif ogr2ogr:
                        entry["ogr2ogr"].append(time_ogr2ogr(ogr2ogr, url, path, table))
                if ogr2ogr and repetition == 0:
                    entry["ogr2ogr_rows"] = count_rows(url, table)
    finally:
        store.close()
        drop_scratch(server, args.scratch_db)

    return summarise(args, full, per_file, ogr2ogr, ogr_version)


def summarise(
    args: argparse.Namespace,
    full: list[dict[str, Any]],
    per_file: dict[str, dict[str, Any]],
    ogr2ogr: str | None,
    ogr_version: str | None,
) -> dict[str, Any]:
    datasets = {name for r in full for name in r["datasets"]}
    dataset_medians = {
        name: statistics.median(r["datasets"][name] for r in full if name in r["datasets"])
        for name in datasets
    }
    full_median = statistics.median(r["seconds"] for r in full)
    files: dict[str, Any] = {}
    for label, entry in per_file.items():
        geogaps = statistics.median(entry["geogaps"])
        ogr = statistics.median(entry["ogr2ogr"]) if entry["ogr2ogr"] else None
        files[label] = {
            "kind": entry["kind"],
            "file": entry["file"],
            "rows_read": entry.get("rows_read"),
            "geogaps_rows_loaded": entry.get("geogaps_rows"),
            "ogr2ogr_rows_loaded": entry.get("ogr2ogr_rows"),
            "geogaps_seconds": geogaps,
            "ogr2ogr_seconds": ogr,
            "ratio_geogaps_over_ogr2ogr": geogaps / ogr if ogr else None,
            "geogaps_runs": entry["geogaps"],
            "ogr2ogr_runs": entry["ogr2ogr"],
        }
    return {
        "machine": {
            "nproc": os.cpu_count(),
            "affinity_cpus": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else None,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "ogr2ogr": ogr_version,
            "note": "shared, noisy machine; figures are medians of one run, ratios are indicative",
        },
        "repeat": args.repeat,
        "data_dir": str(args.data_dir),
        "full_load": {
            "median_seconds": full_median,
            "runs": [r["seconds"] for r in full],
            "target_seconds": TARGET_SECONDS,
            "meets_target": full_median < TARGET_SECONDS,
            "rows_loaded": full[-1]["rows_loaded"],
            "datasets_loaded": len(full[-1]["datasets"]),
            "failures": full[-1]["failures"],
            "slowest_datasets": dict(
                sorted(dataset_medians.items(), key=lambda kv: kv[1], reverse=True)[:5]
            ),
        },
        "files": files,
        "ogr2ogr_missing": ogr2ogr is None,
    }


def print_report(figures: dict[str, Any]) -> None:
    machine = figures["machine"]
    full = figures["full_load"]
    out = print
    out(f"geogaps load benchmark: median of {figures['repeat']} interleaved repetitions")
    out(f"data: {figures['data_dir']}")
    out(
        f"machine: nproc={machine['nproc']} (usable {machine['affinity_cpus']}), "
        f"Python {machine['python']}, {machine['platform']}"
    )
    out(f"ogr2ogr: {machine['ogr2ogr'] or 'not found'}")
    out("")
    verdict = "OK" if full["meets_target"] else "OVER TARGET"
    out(
        f"Full national load (load_directory, force=True): {full['median_seconds']:.2f} s "
        f"median [{', '.join(f'{s:.2f}' for s in full['runs'])}]  "
        f"target < {full['target_seconds']:.0f} s: {verdict}"
    )
    out(f"  {full['datasets_loaded']} datasets, {full['rows_loaded']} rows loaded")
    if full["failures"]:
        for relative, reason in full["failures"].items():
            out(f"  FAILED {relative}: {reason}")
    out("  slowest datasets (median s):")
    for name, seconds in full["slowest_datasets"].items():
        out(f"    {seconds:6.2f}  {name}")
    out("")
    header = f"{'file':<12} {'rows':>11} {'geogaps s':>10} {'ogr2ogr s':>10} {'geogaps/ogr':>12}"
    out(header)
    out("-" * len(header))
    for label, f in figures["files"].items():
        ogr = f"{f['ogr2ogr_seconds']:.3f}" if f["ogr2ogr_seconds"] is not None else "n/a"
        ratio = f["ratio_geogaps_over_ogr2ogr"]
        ratio_text = f"{ratio:.2f}x" if ratio is not None else "n/a"
        rows = f"{f['geogaps_rows_loaded']}/{f['ogr2ogr_rows_loaded'] or '-'}"
        out(f"{label:<12} {rows:>11} {f['geogaps_seconds']:>10.3f} {ogr:>10} {ratio_text:>12}")
    out("  rows = loaded by geogaps / by ogr2ogr; ratio > 1 means geogaps is slower.")
    out(
        "  geogaps also validates (CUT checks, make_valid, duplicate detection, "
        "point-in-commune flags, provenance) in one transaction; ogr2ogr only copies."
    )
    if figures["ogr2ogr_missing"]:
        out("")
        out("ogr2ogr not found: install it with `apt-get install gdal-bin` to get the comparison.")
    out("")
    out(f"note: {machine['note']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = run(args)
    if args.json:
        json.dump(figures, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
