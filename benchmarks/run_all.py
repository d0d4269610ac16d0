"""Every comparison of issue 20 in one table: measure, geogaps, peer, ratio (geogaps ÷ peer), goal.

One command::

    .venv/bin/python benchmarks/run_all.py --database-url postgresql+psycopg://postgres@127.0.0.1:55432/geogaps

Only the server of the URL is used: the database it names is never read or written. The script
creates its own scratch databases, named ``<database>_runall_*`` and commented as its own, and
drops them at the end (and, at start, leftovers of an interrupted run with that prefix and that
comment):

- ``_nacional``: the data folder loaded once and one national run scored;
- ``_x10``: a copy with every facility stored ten times (cost growth of the items);
- ``_runs500``: a copy holding 500 runs;
- ``_carga``: the load benchmark's own (``bench_load``).

Rows (the peer is the other server, the same server's floor, or the goal itself):

- ``ogc``: OGC items (100 communes; health facilities in the bbox of Coquimbo) and vector tiles
  (communes z6 6/19/37 over Coquimbo and 6/19/38, Valparaíso–Santiago; communes and health
  facilities z10 over La Serena), geogaps vs tipg, both one uvicorn worker on the same
  database, asked for the SAME properties (``properties=`` on both), 1 and 8 clients, p50 and
  p99; feature counts of both printed in the notes. Goal ≤ 1.
- ``scores``: ``/scores?challenge=agua&region=04`` with 500 runs stored vs 1 run stored. Before
  every block of requests the newest run changes on both databases (a new run is stored, the
  oldest dropped, so they keep 1 and 500 runs) and the last answer of the block must come from
  the new run: an answer cached across a newest-run change cannot pass. Goal ≤ 1,2.
- ``reads``: cached ``/scores``, profile and ``/priorities`` against the floor (the same server
  returning the same bytes from memory), 8 clients. Goals ≤ 1,5 at p50, ≤ 2 at p99.
- ``gaps``: ``/gaps`` with new weights on every request (never a cache hit), region 04 and
  national, one client, p50; the peer is the goal itself (150 / 500 ms).
- ``growth``: items of health facilities in Coquimbo with 10× the facilities (geogaps 10× ÷
  geogaps 1×, and geogaps ÷ tipg at 10×).
- ``scoring``: national scoring with 1,000 vs 100 Monte Carlo draws.
- ``map``: the first ``/mapa`` render after the server starts (new server, ready) against the
  following loads, each in a new Chromium context (``bench_map``). Goal ≤ 1,2: as fast as
  later loads, with room for the noise of a shared machine.
- ``loads``: the national load and geogaps vs ``ogr2ogr`` on the same files (``bench_load``).

Options: ``--quick`` (few requests: a smoke run, figures not to quote), ``--json``, ``--only
ogc,scores,…``. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    FLOOR_PATH,
    IDENTITY,
    PROJECT_ROOT,
    Row,
    Scratch,
    Target,
    constant,
    fire,
    format_ratio,
    geogaps_server,
    measure,
    render_table,
    tipg_server,
)

# After harness, which puts the worktree's packages first on the path.
from domain.numbers import format_number

SECTIONS = ("ogc", "scores", "reads", "gaps", "growth", "scoring", "map", "loads")
SCRATCH_COMMENT = "geogaps benchmark scratch database (benchmarks/run_all.py); safe to drop"
DEFAULT_DATA_DIR = PROJECT_ROOT / ".." / "shared" / "data" / "chile"
URL_VARIABLES = ("GEOGAPS_DATABASE_URL", "GEOGAPS_TEST_DATABASE_URL")
COQUIMBO = "04"
#: Columns both servers send: geogaps' table columns of each collection.
COMMUNE_PROPERTIES = ("cut", "name", "province_name", "region_code", "region_name", "area_km2")
FACILITY_PROPERTIES = (
    "source_id",
    "name",
    "facility_type",
    "level",
    "operating_status",
    "ownership",
    "cut",
    "outside_declared_commune",
)
#: Tiles: (label, geogaps collection, tipg table, extra tipg filter, z, x, y).
TILES = (
    ("comunas z6 6/19/37 (Coquimbo)", "comunas", "communes", "", 6, 19, 37),
    ("comunas z6 6/19/38 (Valparaíso–Santiago)", "comunas", "communes", "", 6, 19, 38),
    ("comunas z10 10/309/601 (La Serena)", "comunas", "communes", "", 10, 309, 601),
    (
        "salud z10 10/309/601 (La Serena)",
        "establecimientos_salud",
        "facilities",
        "salud",
        10,
        309,
        601,
    ),
)
SCORES = f"/scores?challenge=agua&region={COQUIMBO}"
CACHED_READS = (SCORES, "/communes/04101", f"/priorities?region={COQUIMBO}")
#: Seconds the server may keep the newest run and the data state (Caches.recent), plus margin.
RECENT_SECONDS = 1.1

console = Console(stderr=True, log_path=False)


def progress(message: str) -> None:
    """A progress line on stderr: rich's log on a terminal, one plain line in a log file."""
    if console.is_terminal:
        console.log(message)
    else:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Plan:
    """How many requests each kind of measure fires."""

    requests: int  # timed requests per target and case with 8 clients
    blocks: int  # alternating blocks (plus one warm-up block each)
    rounds: int  # newest-run changes per side for /scores
    cold: int  # cold /gaps requests per scope
    repeat: int  # repetitions of scoring and loads

    @classmethod
    def of(cls, quick: bool) -> Plan:
        return cls(40, 2, 3, 3, 1) if quick else cls(400, 4, 12, 15, 3)


# -- databases ---------------------------------------------------------------------------------


def prepare_national(url: str, data_dir: Path, draws: int) -> tuple[float, float, float, float]:
    """Load ``data_dir`` and score one national run; the bbox of Coquimbo."""
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring
    from layers.loading import load_directory
    from layers.stores import PostgisStore

    store = PostgisStore(url)
    try:
        store.migrate()
        loaded = load_directory(store, data_dir)
        if loaded.failures:
            progress(f"fallas de carga: {loaded.failures}")
        run_scoring(store, ScoringParameters(draws=draws, seed=1))
        with store.engine.connect() as connection:
            box = connection.execute(
                text(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                    "(SELECT ST_Extent(geom) AS e FROM communes WHERE region_code = :r) AS x"
                ),
                {"r": COQUIMBO},
            ).one()
    finally:
        store.close()
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _columns(connection: Connection, table: str) -> list[str]:
    return list(
        connection.execute(
            text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "'public' AND table_name = :t ORDER BY ordinal_position"
            ),
            {"t": table},
        ).scalars()
    )


def copy_run(
    connection: Connection, source: str, new_ids: list[str], shifts: list[float], tables: bool
) -> None:
    """Store copies of run ``source`` under ``new_ids``, created ``shifts`` seconds after it.

    The results (and, with ``tables``, the stored tables) are copied in SQL: the same rows
    under the new id, as a stored run of the same size.
    """
    replaced = {"run_id": "n.run_id", "result_sha256": "n.run_id"}
    created = "r.created_at + n.shift * interval '1 second'"
    for table in ("score_runs", "score_results", *(["score_run_tables"] if tables else [])):
        columns = _columns(connection, table)
        values = [
            created if (table, c) == ("score_runs", "created_at") else replaced.get(c, f"r.{c}")
            for c in columns
        ]
        connection.execute(
            text(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "
                f"FROM {table} AS r CROSS JOIN unnest(CAST(:ids AS text[]), "
                "CAST(:shifts AS double precision[])) AS n(run_id, shift) WHERE r.run_id = :source"
            ),
            {"ids": new_ids, "shifts": shifts, "source": source},
        )


def newest_run_id(connection: Connection) -> str:
    return str(
        connection.execute(
            text("SELECT run_id FROM score_runs ORDER BY created_at DESC LIMIT 1")
        ).scalar_one()
    )


def store_runs(url: str, count: int) -> None:
    """Add ``count - 1`` older copies of the newest run (``count`` runs stored in all)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            source = newest_run_id(connection)
            ids = [f"{n:064x}" for n in range(1, count)]
            copy_run(connection, source, ids, [-60.0 * n for n in range(1, count)], tables=False)
            connection.execute(text("ANALYZE score_runs"))
            connection.execute(text("ANALYZE score_results"))
    finally:
        engine.dispose()


def rotate_newest(engine: Engine) -> str:
    """Store a new newest run (a copy of the newest, tables included) and drop the oldest.

    The number of stored runs stays the same; returns the new newest run's id.
    """
    new_id = uuid.uuid4().hex * 2
    with engine.begin() as connection:
        copy_run(connection, newest_run_id(connection), [new_id], [1.0], tables=True)
        connection.execute(
            text(
                "DELETE FROM score_runs WHERE run_id = "
                "(SELECT run_id FROM score_runs ORDER BY created_at LIMIT 1)"
            )
        )
    return new_id


def multiply_facilities(url: str, times: int) -> int:
    """Store every facility ``times`` times in all (copies with a suffixed source id)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            columns = [c for c in _columns(connection, "facilities") if c != "id"]
            values = [f"f.{c}" if c != "source_id" else "f.source_id || '#' || n" for c in columns]
            connection.execute(
                text(
                    f"INSERT INTO facilities ({', '.join(columns)}) SELECT {', '.join(values)} "
                    f"FROM facilities AS f CROSS JOIN generate_series(1, {times - 1}) AS n"
                )
            )
            connection.execute(text("ANALYZE facilities"))
            return int(connection.execute(text("SELECT count(*) FROM facilities")).scalar_one())
    finally:
        engine.dispose()


# -- measures ----------------------------------------------------------------------------------


def clients_label(clients: int) -> str:
    return f"{clients} cliente{'s' if clients > 1 else ''}"


def latency_rows(
    label: str, ours: Any, theirs: Any, peer_name: str, goals: tuple[float, float], note: str = ""
) -> list[Row]:
    """p50 and p99 rows of one comparison (``ours`` / ``theirs`` are harness Figures)."""
    return [
        Row(f"{label}, p50", ours.p50_ms, theirs.p50_ms, "ms", goals[0], peer_name, note),
        Row(f"{label}, p99", ours.p99_ms, theirs.p99_ms, "ms", goals[1], peer_name),
    ]


def _get(url: str) -> httpx.Response:
    response = httpx.get(url, headers=IDENTITY, timeout=120)
    response.raise_for_status()
    return response


def _tile_contents(content: bytes) -> tuple[int, set[str]]:
    layers = mapbox_vector_tile.decode(content)
    features = [f for layer in layers.values() for f in layer["features"]]
    return len(features), set(features[0]["properties"]) if features else set()


def ogc_cases(
    geogaps: str, tipg: str, bbox: tuple[float, float, float, float]
) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """The items and tile cases (geogaps path, tipg path), and notes comparing their answers.

    Both are asked for the same properties; where geogaps' tiles take no ``properties=``,
    tipg is asked for every table column geogaps' tile carries and the note says what
    geogaps sends on top.
    """
    box = ",".join(f"{v:.6f}" for v in bbox)
    communes, facilities = ",".join(COMMUNE_PROPERTIES), ",".join(FACILITY_PROPERTIES)
    cases = {
        "items 100 comunas": (
            f"/collections/comunas/items?limit=100&properties={communes}",
            f"/collections/public.communes/items?limit=100&properties={communes}",
        ),
        "items salud en la caja de Coquimbo": (
            f"/collections/establecimientos_salud/items?bbox={box}&limit=100"
            f"&properties={facilities}",
            f"/collections/public.facilities/items?bbox={box}&limit=100&category=salud"
            f"&properties={facilities}",
        ),
    }
    notes: dict[str, str] = {}
    for label, (ours, theirs) in cases.items():
        mine, other = _get(geogaps + ours).json(), _get(tipg + theirs).json()
        keys = [
            set(page["features"][0]["properties"]) if page["features"] else set()
            for page in (mine, other)
        ]
        notes[label] = (
            f"geogaps {mine['numberReturned']} de {mine['numberMatched']} objetos, "
            f"tipg {other['numberReturned']} de {other['numberMatched']}; propiedades "
            + ("iguales" if keys[0] == keys[1] else f"DISTINTAS {sorted(keys[0] ^ keys[1])}")
        )
    for label, collection, table, category, z, x, y in TILES:
        columns = COMMUNE_PROPERTIES if table == "communes" else FACILITY_PROPERTIES
        ours = f"/tiles/{collection}/{z}/{x}/{y}.pbf"
        selected = f"{ours}?properties={','.join(columns)}"
        if httpx.get(geogaps + selected, headers=IDENTITY, timeout=120).status_code == 200:
            ours = selected
        count, keys = _tile_contents(_get(geogaps + ours).content)
        shared = [c for c in columns if c in keys]
        theirs = f"/collections/public.{table}/tiles/WebMercatorQuad/{z}/{x}/{y}"
        theirs += f"?properties={','.join(shared)}" + (f"&category={category}" if category else "")
        their_count, their_keys = _tile_contents(_get(tipg + theirs).content)
        extra = sorted(keys - their_keys)
        notes[f"tesela {label}"] = (
            f"geogaps {count} objetos, tipg {their_count}"
            + ("" if count == their_count else " (DISTINTO)")
            + (
                f"; geogaps envía además {len(extra)} propiedades ({', '.join(extra[:4])}…)"
                if extra
                else "; mismas propiedades"
            )
        )
        notes[f"tesela {label}"] += (
            "; la misma tesela repetida: geogaps la sirve desde su caché de teselas (las filas "
            "«sin caché» miden la consulta)"
        )
        cases[f"tesela {label}"] = (ours, theirs)
    return cases, notes


def ogc_rows(
    geogaps: str, tipg: str, bbox: tuple[float, float, float, float], plan: Plan
) -> list[Row]:
    cases, notes = ogc_cases(geogaps, tipg, bbox)
    for label, note in notes.items():
        progress(f"{label}: {note}")
    rows: list[Row] = []
    for label, (ours, theirs) in cases.items():
        targets: dict[str, Target] = {
            "geogaps": constant(geogaps + ours),
            "tipg": constant(tipg + theirs),
        }
        for clients in (1, 8):
            progress(f"{label}, {clients_label(clients)}")
            requests = plan.requests if clients > 1 else plan.requests // 2
            result = measure(targets, requests, clients, plan.blocks)
            rows += latency_rows(
                f"{label}, {clients_label(clients)}",
                result["geogaps"],
                result["tipg"],
                "tipg",
                (1.0, 1.0),
                notes[label] if clients == 1 else "",
            )
    return rows + distinct_tile_rows(geogaps, tipg, bbox, plan)


def distinct_tiles(bbox: tuple[float, float, float, float], count: int) -> list[tuple[int, ...]]:
    """``count`` different z8–z13 tiles over ``bbox``, in a fixed shuffled order."""
    import random

    import morecantile

    matrix = morecantile.tms.get("WebMercatorQuad")
    tiles = [(t.z, t.x, t.y) for t in matrix.tiles(*bbox, zooms=range(8, 14))]
    random.Random(20).shuffle(tiles)
    if len(tiles) < count:
        raise RuntimeError(f"sólo {len(tiles)} teselas distintas sobre la caja; se piden {count}")
    return tiles[:count]


def tile_targets(geogaps: str, tipg: str, tiles: list[tuple[int, ...]]) -> dict[str, Target]:
    """Request ``n`` of either server asks for ``tiles[n]`` (communes, same properties)."""
    selected = f"?properties={','.join(COMMUNE_PROPERTIES)}"
    return {
        "geogaps": lambda n: geogaps + "/tiles/comunas/{}/{}/{}.pbf".format(*tiles[n]),
        "tipg": lambda n: (
            (tipg + "/collections/public.communes/tiles/WebMercatorQuad/{}/{}/{}".format(*tiles[n]))
            + selected
        ),
    }


def distinct_tile_rows(
    geogaps: str, tipg: str, bbox: tuple[float, float, float, float], plan: Plan
) -> list[Row]:
    """Communes tiles asked once each (no cache can answer): the tile query itself.

    Each request of either server is a tile neither server was asked for before (also across
    the 1- and 8-client runs), so geogaps' tile cache never answers; empty tiles (204 or an
    empty body) count like any other.
    """
    sizes = {
        c: max(c, (plan.requests if c > 1 else plan.requests // 2) // plan.blocks) for c in (1, 8)
    }
    tiles = distinct_tiles(bbox, sum(2 * (plan.blocks + 1) * size for size in sizes.values()))
    rows: list[Row] = []
    for clients, size in sizes.items():
        label = f"teselas comunas distintas z8–z13, Coquimbo, sin caché, {clients_label(clients)}"
        progress(label)
        result = measure(
            tile_targets(geogaps, tipg, tiles), size * plan.blocks, clients, plan.blocks
        )
        tiles = tiles[2 * (plan.blocks + 1) * size :]  # the next run asks for other tiles
        note = "cada petición, una tesela que ningún servidor había servido" if clients == 1 else ""
        rows += latency_rows(label, result["geogaps"], result["tipg"], "tipg", (1.0, 1.0), note)
    return rows


def growth_rows(
    servers: dict[str, str], bbox: tuple[float, float, float, float], plan: Plan, facilities: int
) -> list[Row]:
    """Items of health facilities in Coquimbo with 10× the facilities, on both servers."""
    cases, _ = ogc_cases(servers["geogaps 1×"], servers["tipg 1×"], bbox)
    ours, theirs = cases["items salud en la caja de Coquimbo"]
    targets: dict[str, Target] = {
        name: constant(base + (ours if name.startswith("geogaps") else theirs))
        for name, base in servers.items()
    }
    progress("crecimiento: 10× establecimientos, 8 clientes")
    result = measure(targets, plan.requests, 8, plan.blocks)
    tipg_growth = result["tipg 10×"].p50_ms / result["tipg 1×"].p50_ms
    label = "items salud Coquimbo con 10× establecimientos, 8 clientes, p50"
    return [
        Row(
            f"crecimiento: {label}",
            result["geogaps 10×"].p50_ms,
            result["geogaps 1×"].p50_ms,
            "ms",
            None,
            "geogaps 1×",
            f"{facilities} establecimientos; tipg crece {format_ratio(tipg_growth)} en la "
            "misma prueba",
        ),
        Row(label, result["geogaps 10×"].p50_ms, result["tipg 10×"].p50_ms, "ms", 1.0, "tipg 10×"),
    ]


def check_run_counts(engines: dict[str, Engine], expected: dict[str, int]) -> None:
    """Refuse figures taken with another number of stored runs than the row says."""
    for name, engine in engines.items():
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM score_runs")).scalar_one()
        if count != expected[name]:
            raise RuntimeError(f"{name}: {count} corridas guardadas, no {expected[name]}")


def scores_rows(one_url: str, many_url: str, plan: Plan) -> list[Row]:
    """/scores with 500 runs vs 1 run, the newest run changing before every block."""
    engines = {"500 corridas": create_engine(many_url), "1 corrida": create_engine(one_url)}
    expected: dict[str, str] = {}

    def change(name: str) -> None:
        expected[name] = rotate_newest(engines[name])
        time.sleep(RECENT_SECONDS)

    def check(name: str, block: Any) -> None:
        served = json.loads(block.last_body)["run"]["run_id"]
        if served != expected[name]:
            raise RuntimeError(f"/scores ({name}) sirvió {served} tras cambiar a {expected[name]}")

    rows: list[Row] = []
    try:
        with ExitStack() as stack:
            stack.callback(check_run_counts, engines, {"500 corridas": 500, "1 corrida": 1})
            bases = {
                name: stack.enter_context(geogaps_server(url))
                for name, url in (("500 corridas", many_url), ("1 corrida", one_url))
            }
            targets: dict[str, Target] = {
                name: constant(base + SCORES) for name, base in bases.items()
            }
            for clients, per_block in (
                (1, max(5, plan.requests // 20)),
                (8, max(16, plan.requests // 5)),
            ):
                progress(
                    f"/scores 500 vs 1 corrida, {clients_label(clients)}, {plan.rounds} cambios"
                )
                result = measure(
                    targets, per_block * plan.rounds, clients, plan.rounds, change, check
                )
                many, one = result["500 corridas"], result["1 corrida"]
                label = f"/scores agua 04, 500 ÷ 1 corrida, {clients_label(clients)}"
                if clients == 1:
                    rows.append(
                        Row(
                            f"{label}, 1.ª petición tras el cambio, p50",
                            many.first_p50_ms,
                            one.first_p50_ms,
                            "ms",
                            1.2,
                            "1 corrida",
                            "la corrida más reciente cambia antes de cada bloque (se guarda una "
                            "nueva, se borra la más antigua); la última respuesta de cada bloque "
                            "debe venir de la nueva",
                        )
                    )
                rows += latency_rows(label, many, one, "1 corrida", (1.2, 1.2))
    finally:
        for engine in engines.values():
            engine.dispose()
    return rows


def reads_rows(base: str, plan: Plan) -> list[Row]:
    """Cached reads against the floor: the same bytes from memory, same server, 8 clients."""
    rows: list[Row] = []
    for number, path in enumerate(CACHED_READS):
        answer = _get(base + path)
        floor = f"{base}{FLOOR_PATH}/{number}"
        httpx.put(
            floor, content=answer.content, headers={"Content-Type": answer.headers["content-type"]}
        ).raise_for_status()
        if _get(floor).content != answer.content:
            raise RuntimeError(f"el piso de {path} no devuelve los mismos bytes")
        progress(f"lectura en caché {path} vs piso ({len(answer.content)} bytes)")
        targets: dict[str, Target] = {
            "geogaps": constant(base + path),
            "piso": constant(floor),
        }
        result = measure(targets, plan.requests, 8, plan.blocks)
        rows += latency_rows(
            f"en caché {path} vs piso, 8 clientes",
            result["geogaps"],
            result["piso"],
            "piso",
            (1.5, 2.0),
            f"{len(answer.content)} bytes; piso: el mismo servidor devolviendo esos bytes "
            "desde memoria",
        )
    return rows


def gaps_rows(base: str, plan: Plan) -> list[Row]:
    """/gaps with new weights on every request (never a cache hit), one client."""
    rows = []
    for label, scope, goal, count in (
        ("región 04", f"region={COQUIMBO}&", 150.0, plan.cold),
        ("nacional", "", 500.0, max(2, plan.cold * 2 // 3)),
    ):
        salt = uuid.uuid4().int % 1000

        def target(i: int, scope: str = scope, salt: int = salt) -> str:
            weight = 1 + (salt * 1000 + i + 1) / 1e7
            return f"{base}/gaps?{scope}challenge=agua&weights=agua:{weight:.7f}"

        progress(f"/gaps frío {label}: {count} pesos nuevos")
        fire(target, 1, 1, start=10_000)  # the scope's first computation after start
        block = fire(target, count, 1)
        p50 = 1000 * statistics.median(block.latencies)
        rows.append(
            Row(
                f"/gaps frío (pesos nuevos) {label}, 1 cliente, p50",
                p50,
                goal,
                "ms",
                1.0,
                "meta",
                "el par es la meta; razón = medido ÷ meta" if not rows else "",
            )
        )
    return rows


def scoring_rows(url: str, plan: Plan) -> list[Row]:
    """National scoring with 1,000 vs 100 Monte Carlo draws, inputs read from the scratch DB."""
    from bench_scoring import time_scoring

    from geo_service.services.inputs import read_analysis_inputs
    from layers.stores import PostgisStore

    store = PostgisStore(url)
    try:
        inputs = read_analysis_inputs(store)
    finally:
        store.close()
    seconds = {}
    for draws in (100, 1000):
        progress(f"puntaje nacional, {draws} sorteos × {plan.repeat}")
        seconds[draws] = statistics.median(time_scoring(inputs, draws, plan.repeat)[0])
    return [
        Row(
            "crecimiento: puntaje nacional 1.000 ÷ 100 sorteos",
            seconds[1000],
            seconds[100],
            "s",
            10.0,
            "100 sorteos",
            "meta: no peor que lineal en los sorteos",
        ),
        Row("puntaje nacional con 1.000 sorteos", seconds[1000], 5.0, "s", 1.0, "meta"),
    ]


def map_rows(url: str, plan: Plan) -> list[Row]:
    """The first ``/mapa`` load after the server starts against later loads (bench_map)."""
    from bench_map import CHROMIUM_ARGS
    from bench_map import measure as page_load
    from playwright.sync_api import sync_playwright

    began = time.perf_counter()
    with geogaps_server(url) as base, sync_playwright() as playwright:
        startup = time.perf_counter() - began
        progress(f"mapa: servidor listo en {startup:.1f} s; {1 + plan.repeat} cargas de /mapa")
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            renders = [page_load(browser, base)["first_render_s"] for _ in range(1 + plan.repeat)]
        finally:
            browser.close()
    return [
        Row(
            "mapa: primer dibujo de /mapa tras el arranque ÷ cargas siguientes",
            renders[0],
            statistics.median(renders[1:]),
            "s",
            1.2,
            "siguientes",
            f"cada carga en un contexto nuevo de Chromium (sin caché del navegador); el servidor "
            f"respondió /ready {format_number(startup, 1)} s después de lanzarlo",
        )
    ]


def loads_rows(scratch: Scratch, data_dir: Path, plan: Plan) -> list[Row]:
    """geogaps vs ogr2ogr on the same files, from bench_load (its scratch database is named
    after ``<prefix>_carga``, on the same server, and dropped by bench_load)."""
    import bench_load

    load_rows = getattr(bench_load, "load_rows", None)
    if load_rows is not None:
        return [Row.of_load(row) for row in load_rows(scratch.url("carga"), data_dir, plan.repeat)]
    server_url = scratch.server.render_as_string(hide_password=False)
    scratch_name = scratch.name("carga")
    # Until bench_load offers load_rows: its run() and figures, read here.
    arguments = bench_load.parse_args(
        [
            "--database-url",
            server_url,
            "--data-dir",
            str(data_dir),
            "--repeat",
            str(plan.repeat),
            "--scratch-db",
            scratch_name,
        ]
    )
    found = bench_load.run(arguments)
    full = found["full_load"]
    rows = [
        Row(
            "carga nacional completa",
            full["median_seconds"],
            full["target_seconds"],
            "s",
            1.0,
            "meta",
        )
    ]
    names = {"boundaries": "límites comunales", "facilities": "establecimientos de salud"}
    for label, entry in found["files"].items():
        rows.append(
            Row(
                f"carga {names.get(label, label)} ({entry['geogaps_rows_loaded']} filas)",
                entry["geogaps_seconds"],
                entry["ogr2ogr_seconds"],
                "s",
                1.0,
                "ogr2ogr",
            )
        )
    return rows


# -- the run -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", help="URL of the PostGIS server (its database is not touched)"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--quick", action="store_true", help="few requests: a smoke run")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"sections, of {', '.join(SECTIONS)}"
    )
    parser.add_argument("--draws", type=int, default=100, help="draws of the stored national run")
    args = parser.parse_args(argv)
    args.database_url = args.database_url or next(
        (os.environ[v] for v in URL_VARIABLES if os.environ.get(v)), None
    )
    if not args.database_url:
        parser.error("pass --database-url or set GEOGAPS_DATABASE_URL / GEOGAPS_TEST_DATABASE_URL")
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose among {', '.join(SECTIONS)}")
    args.data_dir = args.data_dir.resolve()
    return args


@contextmanager
def scratch_databases(server_url: str) -> Iterator[Scratch]:
    scratch = Scratch(server_url, f"{make_url(server_url).database}_runall", SCRATCH_COMMENT)
    for name in scratch.sweep():
        progress(f"borrada la base sobrante {name}")
    try:
        yield scratch
    finally:
        scratch.drop_all()
        progress("bases temporales borradas")


def run(args: argparse.Namespace) -> list[Row]:
    plan = Plan.of(args.quick)
    wanted = set(args.only)
    rows: list[Row] = []
    with scratch_databases(args.database_url) as scratch:
        served_sections = wanted - {"loads"}
        if served_sections:
            progress("carga nacional y una corrida en la base temporal")
            national = scratch.create("nacional")
            bbox = prepare_national(national, args.data_dir, args.draws)
            # Copies are taken now: CREATE DATABASE … TEMPLATE needs the source unused.
            many = scratch.create("runs500", template="nacional") if "scores" in wanted else ""
            x10 = scratch.create("x10", template="nacional") if "growth" in wanted else ""
            if many:
                store_runs(many, 500)
            facilities = multiply_facilities(x10, 10) if x10 else 0
        if wanted & {"ogc", "growth", "reads", "gaps"}:
            with ExitStack() as stack:
                geogaps = stack.enter_context(geogaps_server(national))
                compared = wanted & {"ogc", "growth"}
                tipg = stack.enter_context(tipg_server(national)) if compared else ""
                if "reads" in wanted:
                    rows += reads_rows(geogaps, plan)
                if "gaps" in wanted:
                    rows += gaps_rows(geogaps, plan)
                if "ogc" in wanted:
                    rows += ogc_rows(geogaps, tipg, bbox, plan)
                if "growth" in wanted:
                    with geogaps_server(x10) as geogaps10, tipg_server(x10) as tipg10:
                        servers = {
                            "geogaps 10×": geogaps10,
                            "geogaps 1×": geogaps,
                            "tipg 10×": tipg10,
                            "tipg 1×": tipg,
                        }
                        rows += growth_rows(servers, bbox, plan, facilities)
        if "scores" in wanted:
            rows += scores_rows(national, many, plan)
        if "scoring" in wanted:
            rows += scoring_rows(national, plan)
        if "map" in wanted:
            rows += map_rows(national, plan)
        if "loads" in wanted:
            rows += loads_rows(scratch, args.data_dir, plan)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A terminated run still drops its databases and stops its servers (the finally blocks).
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    began = time.perf_counter()
    rows = run(args)
    progress(f"listo en {time.perf_counter() - began:.0f} s")
    if args.json:
        figures = {"quick": args.quick, "rows": [row.as_dict() for row in rows]}
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        mode = "rápida (humo: no citar)" if args.quick else "completa"
        print(f"geogaps: comparaciones del issue 20, corrida {mode}.")
        print("razón = geogaps ÷ par; cumple si razón ≤ meta. En /gaps frío, la carga nacional")
        print("y el puntaje con 1.000 sorteos el par es la propia meta (razón = medido ÷ meta).")
        print(render_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
