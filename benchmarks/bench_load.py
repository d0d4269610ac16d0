"""Benchmark: the full national load into PostGIS, and geogaps vs ``ogr2ogr`` on every file.

Issue 2 asks for the whole national load in under 20 s on a 2-core machine; issue 20 asks for
every dataset to load at least as fast as ``ogr2ogr -f PostgreSQL`` (Debian ``gdal-bin``) on
the same file and the same server. This script measures both, interleaved, and prints one row
per file: geogaps seconds, ogr2ogr seconds, ratio geogaps ÷ ogr2ogr and the goal (≤ 1,00)::

    .venv/bin/python benchmarks/bench_load.py [--repeat 3] [--json]

The server comes from ``--database-url``, else ``GEOGAPS_DATABASE_URL``, else
``GEOGAPS_TEST_DATABASE_URL``. Only the server is used: the script creates its own scratch
database on it (``--scratch-db``, default ``<database of the URL>_bench_load``, marked with a
comment so that a leftover of an interrupted run is recognised and replaced) and drops it at
the end, also when a step fails or the run is interrupted (Ctrl-C, SIGTERM). It never touches
the database named in the URL.

:func:`load_rows` runs the per-file comparison for ``benchmarks/run_all.py`` and returns rows
``{"measure", "geogaps_s", "peer_s", "ratio", "goal"}``.

What is timed, for each file of :data:`layers.loading.folder.MANIFEST` (every dataset
``geogaps load`` reads), once per repetition, the order of the two sides alternating so that
neither always runs on a warm cache:

- geogaps: ``load_file(store, kind, path, force=True)`` on a NEW store (new connection pool,
  empty caches, as ``geogaps load-file`` starts), into the scratch schema where the whole
  folder was loaded first (prerequisites present, so the dataset replaces itself: delete,
  binary COPY, index upkeep, provenance, all in one transaction). Python's own start and
  imports are not counted.
- ogr2ogr: ``ogr2ogr --config PG_USE_COPY YES -f PostgreSQL PG:... FILE -nln bench_<n>
  -overwrite -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=GIST -t_srs EPSG:4326
  -nlt PROMOTE_TO_MULTI`` into the same scratch database, timed around the subprocess (its
  start, about 50 ms, counts; it drops and recreates the table, COPYs, then builds its primary
  key and GiST index). CSV files are read by GDAL's CSV driver; those with point columns get
  ``-oo X_POSSIBLE_NAMES=... -oo Y_POSSIBLE_NAMES=...`` (the reader's own column names) and
  ``-s_srs EPSG:4326``. A file ogr2ogr cannot read is listed as skipped with GDAL's reason.

Figures are the median of N runs (``--repeat N``). geogaps does more than ogr2ogr: it checks
CUT codes, repairs geometries (make_valid), removes duplicates, flags points outside their
declared commune, refuses a second source for the same fact and writes provenance.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from layers.loading import load_directory, load_file
from layers.loading.folder import MANIFEST, names_with_accents
from layers.readers import ReadContext
from layers.readers.files import LATITUDE_NAMES, LONGITUDE_NAMES
from layers.stores import PostgisStore

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = PROJECT_ROOT / ".." / "shared" / "data" / "chile"
TARGET_SECONDS = 20.0
#: The goal of every per-file ratio (geogaps ÷ ogr2ogr), as printed.
GOAL = "≤ 1,00"
SCRATCH_COMMENT = "geogaps benchmark scratch database (benchmarks/bench_load.py); safe to drop"
URL_VARIABLES = ("GEOGAPS_DATABASE_URL", "GEOGAPS_TEST_DATABASE_URL")
OGR_BASE_OPTIONS = (
    "-overwrite",
    "-unsetFid",
    "-lco",
    "GEOMETRY_NAME=geom",
    "-lco",
    "SPATIAL_INDEX=GIST",
    "-t_srs",
    "EPSG:4326",
    "-nlt",
    "PROMOTE_TO_MULTI",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL of the PostGIS server to use")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument(
        "--scratch-db", help="scratch database name (default <database>_bench_load)"
    )
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


def default_scratch_name(database_url: str) -> str:
    """``<database of the URL>_bench_load``: scratch databases carry their owner's prefix."""
    return f"{make_url(database_url).database or 'geogaps'}_bench_load"


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
    except BaseException:
        engine.dispose()
        drop_scratch(url, name)
        raise
    engine.dispose()
    return target


def drop_scratch(url: URL, name: str) -> None:
    engine = _admin_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@contextmanager
def scratch_database(database_url: str, name: str | None = None) -> Iterator[URL]:
    """A scratch PostGIS database on the server of ``database_url``, dropped however we leave.

    SIGTERM is turned into an exception while it exists, so a killed run still drops it.
    """
    server = make_url(database_url)
    name = name or default_scratch_name(database_url)

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    # Signal handlers can only be set from the main thread.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, terminate) if main_thread else None
    try:
        # Created before the try that drops it: a database we refused to touch is never dropped.
        url = create_scratch(server, name)
        try:
            yield url
        finally:
            drop_scratch(server, name)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


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


def time_geogaps_file(
    url: URL, kind: str, path: Path, context: ReadContext
) -> tuple[float, int, int]:
    """Seconds of one ``load_file`` on a new store (connecting included), rows read, loaded."""
    started = time.perf_counter()
    store = PostgisStore(url.render_as_string(hide_password=False))
    try:
        report = load_file(store, kind, path, force=True, context=context)
    finally:
        store.close()
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


def ogr_source_options(path: Path) -> list[str]:
    """Options that make GDAL read ``path`` as geogaps does (CSV points from lat/lon columns)."""
    if path.suffix.lower() != ".csv":
        return []
    header = path.read_text(encoding="utf-8-sig", errors="replace").split("\n", 1)[0]
    names = {name.strip().strip('"').lower() for name in header.replace(";", ",").split(",")}
    if not (names & set(LONGITUDE_NAMES) and names & set(LATITUDE_NAMES)):
        return []  # a table without coordinates: ogr2ogr loads it without geometry
    return [
        "-oo",
        "X_POSSIBLE_NAMES=" + ",".join(LONGITUDE_NAMES),
        "-oo",
        "Y_POSSIBLE_NAMES=" + ",".join(LATITUDE_NAMES),
        "-s_srs",
        "EPSG:4326",
    ]


def ogr2ogr_command(ogr2ogr: str, datasource: str, path: Path, table: str) -> list[str]:
    """The ``ogr2ogr`` command line timed for ``path`` (see the module docstring)."""
    return [
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
        *OGR_BASE_OPTIONS,
        *ogr_source_options(path),
    ]


def time_ogr2ogr(ogr2ogr: str, url: URL, path: Path, table: str) -> float:
    """Seconds of one ``ogr2ogr`` run; a RuntimeError with GDAL's words when it fails."""
    datasource, env = ogr_connection(url)
    command = ogr2ogr_command(ogr2ogr, datasource, path, table)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"ogr2ogr failed on {path.name}: {done.stderr.strip()[-300:]}")
    return seconds


def count_rows(url: URL, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
    finally:
        engine.dispose()


def ogr2ogr_path() -> tuple[str | None, str | None]:
    """The ``ogr2ogr`` executable and its version line, or (None, None)."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        return None, None
    version = subprocess.run([ogr2ogr, "--version"], capture_output=True, text=True, check=False)
    return ogr2ogr, version.stdout.strip()


# -- the run ---------------------------------------------------------------------------------


def compare_files(
    url: URL, data_dir: Path, repeat: int, full: list[dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Time every present file of the manifest on both sides, ``repeat`` times, interleaved.

    The whole folder is loaded first (and again before each repetition when ``full`` is given,
    which then receives the timings of those full loads).
    """
    ogr2ogr, _ = ogr2ogr_path()
    context = names_with_accents(data_dir)
    present = [(rel, kind) for rel, kind in MANIFEST if (data_dir / rel).is_file()]
    entries: dict[str, dict[str, Any]] = {
        rel: {"kind": kind, "geogaps": [], "ogr2ogr": [], "skipped": None} for rel, kind in present
    }
    store = PostgisStore(url.render_as_string(hide_password=False))
    try:
        store.migrate()
        for repetition in range(repeat):
            if full is not None or repetition == 0:
                loaded = time_full_load(store, data_dir)
                if full is not None:
                    full.append(loaded)
            for number, (relative, kind) in enumerate(present):
                path, entry = data_dir / relative, entries[relative]
                steps = ["geogaps", "ogr2ogr"] if repetition % 2 == 0 else ["ogr2ogr", "geogaps"]
                for step in steps:
                    if step == "geogaps":
                        seconds, read, loaded_rows = time_geogaps_file(url, kind, path, context)
                        entry["geogaps"].append(seconds)
                        entry["rows_read"], entry["geogaps_rows"] = read, loaded_rows
                    elif ogr2ogr and entry["skipped"] is None:
                        table = f"bench_{number:02d}"
                        try:
                            entry["ogr2ogr"].append(time_ogr2ogr(ogr2ogr, url, path, table))
                        except RuntimeError as error:
                            entry["skipped"] = str(error)
                            continue
                        if "ogr2ogr_rows" not in entry:
                            entry["ogr2ogr_rows"] = count_rows(url, table)
    finally:
        store.close()
    if ogr2ogr is None:
        for entry in entries.values():
            entry["skipped"] = "ogr2ogr not found (apt-get install gdal-bin)"
    return entries


def file_figures(entries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Medians and the ratio geogaps ÷ ogr2ogr of each file."""
    files: dict[str, Any] = {}
    for relative, entry in entries.items():
        geogaps = statistics.median(entry["geogaps"])
        ogr = statistics.median(entry["ogr2ogr"]) if entry["ogr2ogr"] else None
        files[relative] = {
            "kind": entry["kind"],
            "rows_read": entry.get("rows_read"),
            "geogaps_rows_loaded": entry.get("geogaps_rows"),
            "ogr2ogr_rows_loaded": entry.get("ogr2ogr_rows"),
            "geogaps_seconds": geogaps,
            "ogr2ogr_seconds": ogr,
            "ratio_geogaps_over_ogr2ogr": geogaps / ogr if ogr else None,
            "geogaps_runs": entry["geogaps"],
            "ogr2ogr_runs": entry["ogr2ogr"],
            "skipped": entry["skipped"],
        }
    return files


def rows_of(files: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per file, plus the sum over the files both sides loaded."""
    rows = [
        {
            "measure": f"carga {relative}",
            "geogaps_s": f["geogaps_seconds"],
            "peer_s": f["ogr2ogr_seconds"],
            "ratio": f["ratio_geogaps_over_ogr2ogr"],
            "goal": GOAL,
        }
        for relative, f in files.items()
    ]
    compared = [f for f in files.values() if f["ogr2ogr_seconds"] is not None]
    if compared:
        geogaps = sum(f["geogaps_seconds"] for f in compared)
        peer = sum(f["ogr2ogr_seconds"] for f in compared)
        rows.append(
            {
                "measure": f"carga, suma de los {len(compared)} archivos",
                "geogaps_s": geogaps,
                "peer_s": peer,
                "ratio": geogaps / peer,
                "goal": GOAL,
            }
        )
    return rows


def load_rows(database_url: str, data_dir: Path | str, repeat: int = 3) -> list[dict[str, Any]]:
    """geogaps vs ogr2ogr on every file of the data folder, as rows for ``run_all.py``.

    Parameters
    ----------
    database_url
        SQLAlchemy URL of a PostGIS database; only its server is used: a scratch database
        ``<database>_bench_load`` is created there and dropped at the end (also on error).
    data_dir
        A folder laid out like ``../shared/data/chile``.
    repeat
        Runs per side and file; each figure is the median of them.

    Returns
    -------
    list of dict
        ``{"measure", "geogaps_s", "peer_s", "ratio", "goal"}`` per file (``measure`` is
        ``"carga <file>"``; ``peer_s`` and ``ratio`` are None where ogr2ogr cannot read the
        file or is not installed; ``ratio`` is geogaps ÷ ogr2ogr, the goal ``≤ 1,00``), then
        the sum over the files both sides loaded.
    """
    with scratch_database(database_url) as url:
        entries = compare_files(url, Path(data_dir).resolve(), repeat)
    return rows_of(file_figures(entries))


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir: Path = args.data_dir
    if not data_dir.is_dir():
        raise SystemExit(f"data folder not found: {data_dir}")
    ogr2ogr, ogr_version = ogr2ogr_path()
    full: list[dict[str, Any]] = []
    with scratch_database(args.database_url, args.scratch_db) as url:
        entries = compare_files(url, data_dir, args.repeat, full)
    return summarise(args, full, file_figures(entries), ogr2ogr, ogr_version)


def summarise(
    args: argparse.Namespace,
    full: list[dict[str, Any]],
    files: dict[str, dict[str, Any]],
    ogr2ogr: str | None,
    ogr_version: str | None,
) -> dict[str, Any]:
    datasets = {name for r in full for name in r["datasets"]}
    dataset_medians = {
        name: statistics.median(r["datasets"][name] for r in full if name in r["datasets"])
        for name in datasets
    }
    full_median = statistics.median(r["seconds"] for r in full)
    return {
        "machine": {
            "nproc": os.cpu_count(),
            "affinity_cpus": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else None,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "ogr2ogr": ogr_version,
            "note": (
                f"figures are medians of {args.repeat} run(s) per side; on a shared, noisy "
                "machine the ratios are indicative"
            ),
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
        "rows": rows_of(files),
        "ogr2ogr_missing": ogr2ogr is None,
    }


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def print_report(figures: dict[str, Any]) -> None:
    machine = figures["machine"]
    full = figures["full_load"]
    out = print
    runs = figures["repeat"]
    out(f"geogaps load benchmark: median of {runs} run{'s' if runs > 1 else ''}, interleaved")
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
    for relative, reason in full["failures"].items():
        out(f"  FAILED {relative}: {reason}")
    out("  slowest datasets (median s):")
    for name, seconds in full["slowest_datasets"].items():
        out(f"    {seconds:6.2f}  {name}")
    out("")
    width = max(len(row["measure"]) for row in figures["rows"])
    header = f"{'measure':<{width}} {'geogaps s':>10} {'ogr2ogr s':>10} {'ratio':>7} {'goal':>7}"
    out(header)
    out("-" * len(header))
    for row in figures["rows"]:
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}".replace(".", ",")
        out(
            f"{row['measure']:<{width}} {_seconds(row['geogaps_s']):>10} "
            f"{_seconds(row['peer_s']):>10} {ratio:>7} {row['goal']:>7}"
        )
    out("  ratio = geogaps ÷ ogr2ogr (above 1 means geogaps is slower).")
    out("  rows loaded (geogaps / ogr2ogr):")
    for relative, f in figures["files"].items():
        out(f"    {relative}: {f['geogaps_rows_loaded']} / {f['ogr2ogr_rows_loaded'] or '-'}")
    skipped = {rel: f["skipped"] for rel, f in figures["files"].items() if f["skipped"]}
    if skipped:
        out("  not compared (ogr2ogr could not load them):")
        for relative, reason in skipped.items():
            out(f"    {relative}: {reason}")
    out(
        "  geogaps also validates (CUT checks, make_valid, duplicate detection, "
        "point-in-commune flags, one source per fact, provenance) in one transaction; "
        "ogr2ogr only copies."
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
