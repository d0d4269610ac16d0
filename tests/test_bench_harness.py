"""The benchmark table and scratch databases (benchmarks/harness.py): no timing, only behaviour.

The ratio is geogaps ÷ peer (the issue's goals are written that way), printed the Chilean way;
the scratch databases a benchmark sweeps are only its own (its prefix AND its comment).
"""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.harness import Row, Scratch, percentile, render_table
from domain.numbers import format_number


def test_ratio_is_geogaps_over_peer_and_meets_the_goal_at_or_below_it() -> None:
    faster = Row("items", geogaps=30.0, peer=40.0, unit="ms", goal=1.0, peer_name="tipg")
    slower = Row("tesela", geogaps=52.0, peer=40.0, unit="ms", goal=1.0, peer_name="tipg")
    assert faster.ratio == 30.0 / 40.0
    assert (faster.verdict, slower.verdict) == ("sí", "no")
    no_peer = Row("sin par", geogaps=10.0, peer=None, unit="ms", goal=1.0)
    assert no_peer.ratio is None
    assert no_peer.verdict == ""
    assert (faster.as_dict()["meets_goal"], slower.as_dict()["meets_goal"]) == (True, False)
    assert no_peer.as_dict()["meets_goal"] is None


def test_a_load_row_reads_the_goal_bench_load_writes_for_people() -> None:
    record = {"measure": "carga x.csv", "geogaps_s": 0.3, "peer_s": 0.4, "ratio": 0.75}
    row = Row.of_load({**record, "goal": f"≤ {format_number(1.0, 2)}"})
    assert (row.goal, row.ratio, row.peer_name, row.unit) == (1.0, 0.3 / 0.4, "ogr2ogr", "s")
    assert Row.of_load({**record, "goal": 1.25}).goal == 1.25
    assert Row.of_load({**record, "peer_s": None, "goal": 1.0}).ratio is None


def test_table_writes_figures_and_ratios_with_a_decimal_comma() -> None:
    row = Row("items", geogaps=30.25, peer=40.0, unit="ms", goal=1.5, peer_name="piso", note="n")
    table = render_table([row, Row("falta", None, 20.0, "s", None)])
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["medida", "geogaps", "par"]
    items = next(line for line in lines if line.startswith("items"))
    assert f"{format_number(30.25, 1)} ms" in items
    assert f"{format_number(30.25 / 40.0, 2)}×" in items
    assert f"≤ {format_number(1.5, 2)}×" in items
    assert "," in format_number(30.25 / 40.0, 2)
    missing = next(line for line in lines if line.startswith("falta"))
    assert "—" in missing
    assert "  items: n" in lines


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0


def test_sweep_drops_only_databases_with_the_prefix_and_the_comment(database_url: str) -> None:
    server = make_url(database_url)
    prefix = f"{server.database}_harness{uuid.uuid4().hex[:6]}"
    scratch = Scratch(database_url, prefix, "scratch de prueba del banco")
    foreign = f"{prefix}_ajena"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        scratch.create("propia")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{foreign}"'))
        leftover = Scratch(database_url, prefix, "scratch de prueba del banco")
        assert leftover.sweep() == [scratch.name("propia")]
        with admin.connect() as connection:
            names = set(
                connection.execute(
                    text("SELECT datname FROM pg_database WHERE starts_with(datname, :p)"),
                    {"p": prefix},
                ).scalars()
            )
        assert names == {foreign}
    finally:
        scratch.drop_all()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{foreign}" WITH (FORCE)'))
        admin.dispose()
