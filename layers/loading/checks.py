"""Checks a load runs on a reader's rows before anything is written, and its refusals."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Integer

from domain.numbers import format_integer, format_share
from domain.text import fold
from layers.constraints import FACT_SCOPES, unique_keys
from layers.errors import DependencyError, LayerError
from layers.loading.report import LoadReport
from layers.places import check_declared_communes, reject_antarctic_elsewhere
from layers.readers import Kind
from layers.stores.base import Store
from layers.tables import table_named
from layers.validation import (
    SOURCE_ROW,
    ValidationOutcome,
    area_km2,
    normalise_cuts,
    refuse_conflicting_keys,
    reject_broken_intervals,
    reject_fractional_counts,
    reject_out_of_integer_range,
    reject_out_of_range,
    reject_unknown_cuts,
    repair_geometries,
)

#: Share of a dataset's rows a reload may lose without ``allow_shrink``: 5 %. More is how a
#: truncated export or a file of one region over a national one looks; a real update that
#: drops that many rows is rare enough to ask for ``--allow-shrink``.
SHRINK_TOLERANCE = 0.05


def refuse_shrinking(
    report: LoadReport,
    previous: dict[str, Any] | None,
    allow_shrink: bool,
    replaced: dict[str, Any] | None = None,
) -> None:
    """Refuse a load that would leave a dataset empty or much smaller, saying what is lost.

    A replacement (``replaced``, the provenance of the dataset ``--replaces`` retires) is held
    to the same rule against the dataset it retires: a one-row correction replacing a national
    file would leave every other commune without data.
    """
    reasons = ", ".join(
        f"{reason} ({format_integer(count)})"
        for reason, count in report.rejection_reasons().items()
    )
    why = f"; filas rechazadas: {reasons}" if reasons else ""
    if replaced is not None and not allow_shrink:
        before = int(replaced["rows_loaded"])
        lost = before - report.rows_loaded
        if before > 0 and lost > SHRINK_TOLERANCE * before:
            raise LayerError(
                f"{report.path.name}: reemplazar {replaced['dataset']!r} ({before} filas) por "
                f"{report.dataset!r} ({report.rows_loaded} filas) dejaría {lost} filas sin "
                f"reemplazo ({100 * lost / before:.0f} %; se aceptan pérdidas de hasta "
                f"{100 * SHRINK_TOLERANCE:.0f} %){why}: esas comunas quedarían sin dato; no se "
                "cambió nada: si es intencional repita con --allow-shrink"
            )
    if previous is None:
        if report.rows_loaded == 0:
            raise LayerError(
                f"{report.path.name}: no hay ninguna fila que cargar "
                f"({format_integer(report.rows_read)} leídas, "
                f"{format_integer(report.rows_rejected)} rechazadas){why}; "
                "revise el archivo y --kind"
            )
        return
    before = int(previous["rows_loaded"])
    lost = before - report.rows_loaded
    if allow_shrink or before == 0 or lost <= SHRINK_TOLERANCE * before:
        return
    raise LayerError(
        f"{report.path.name}: la carga dejaría el conjunto {report.dataset!r} con "
        f"{format_integer(report.rows_loaded)} filas en lugar de {format_integer(before)} "
        f"(se perderían {format_integer(lost)} filas, "
        f"{format_share(lost / before)} de las cargadas desde {previous['file_name']}; se aceptan "
        f"pérdidas de hasta {format_share(SHRINK_TOLERANCE)}){why}; no se cambió nada: si es "
        "intencional repita con --allow-shrink"
    )


def check_replacement(store: Store, kind: Kind, dataset: str, replaces: str | None) -> None:
    """Refuse a ``--replaces`` that names no active dataset, one of another table, or itself."""
    if replaces is None:
        return
    if replaces == dataset:
        raise LayerError(
            f"--replaces {replaces}: un conjunto no se reemplaza a sí mismo; para actualizarlo "
            f"cárguelo de nuevo con --dataset {dataset}"
        )
    previous = store.provenance_of(replaces)
    if previous is None:
        raise LayerError(
            f"--replaces {replaces}: no hay ningún conjunto activo con ese nombre; vea los "
            "nombres con geogaps status"
        )
    if previous["table_name"] != kind.table:
        raise LayerError(
            f"--replaces {replaces}: ese conjunto es de la tabla {previous['table_name']} y este "
            f"archivo ({kind.name}) va a la tabla {kind.table}; solo se reemplaza un conjunto "
            "por otro del mismo tipo"
        )


def refuse_second_source(
    store: Store, kind: Kind, dataset: str, frame: pd.DataFrame, replaces: str | None
) -> None:
    """Refuse rows for facts another active dataset already supplies (one source per fact).

    A fact is a commune with the columns of :data:`layers.constraints.FACT_SCOPES` (year,
    poverty measure, facility category). ``replaces`` is not counted: it leaves with this load.
    """
    scope = FACT_SCOPES.get(kind.table)
    if scope is None or frame.empty or "cut" not in frame:
        return
    columns = ["cut", *scope]
    # A fact belongs to one commune: only the communes of this file can clash.
    file_cuts = frame["cut"].dropna().astype(str).unique()
    others = store.rows_of_other_datasets(kind.table, columns, [dataset, replaces], file_cuts)
    if others.empty:
        return
    # Thousands of rows share a few hundred facts: compare each distinct fact once.
    mine = _facts(frame[[c for c in columns if c in frame]].drop_duplicates(), columns)
    theirs = _facts(others, columns).assign(dataset=others["dataset"].to_numpy())
    # Most loads clash with nothing: compare the facts as sets before any merge.
    mine_set = set(zip(*(mine[c].to_numpy() for c in columns), strict=True))
    if mine_set.isdisjoint(zip(*(theirs[c].to_numpy() for c in columns), strict=True)):
        return
    clash = mine.drop_duplicates().merge(theirs.drop_duplicates(), on=columns)
    if clash.empty:
        return
    owner = str(clash["dataset"].value_counts().index[0])
    cuts = sorted(set(clash.loc[clash["dataset"] == owner, "cut"]))
    names = dict(unique_names_by_cut(store))
    examples = ", ".join(f"{cut} {names.get(cut, '')}".strip() for cut in cuts[:3])
    more = "…" if len(cuts) > 3 else ""
    what = f" ({', '.join(scope)} iguales)" if scope else ""
    communes = (
        "1 comuna de este archivo ya tiene"
        if len(cuts) == 1
        else (f"{len(cuts)} comunas de este archivo ya tienen")
    )
    raise LayerError(
        f"{communes} datos de {kind.table}{what} del conjunto activo {owner!r}: "
        f"{examples}{more}. Un dato tiene una sola fuente: si este archivo "
        f"corrige o sustituye a {owner!r}, cárguelo con --replaces {owner} (ese conjunto queda "
        f"retirado, no borrado); si es una versión nueva del mismo conjunto, cárguelo con "
        f"--dataset {owner}; no se cambió nada"
    )


def _facts(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The fact columns of some rows as text (years typed 2022 and 2022.0 compare equal)."""
    facts = {}
    for column in columns:
        values = frame[column] if column in frame else pd.Series("", index=frame.index)
        numbers = pd.to_numeric(values, errors="coerce")
        if column != "cut" and numbers.notna().all():
            values = numbers.astype("float64").map(repr)
        facts[column] = values.astype(str).to_numpy()
    return pd.DataFrame(facts)


def unique_names_by_cut(store: Store) -> dict[str, str]:
    """CUT → commune name (official code list, else boundaries), for messages."""
    names = pd.concat(
        [
            store.read_reference("territorial_codes", ["cut", "name"]),
            store.read_reference("communes", ["cut", "name"]),
        ]
    ).drop_duplicates("cut")
    return dict(zip(names["cut"].astype(str), names["name"].astype(str), strict=True))


def refuse_keys_of_other_datasets(
    store: Store, kind: Kind, dataset: str, frame: pd.DataFrame, replaces: str | None = None
) -> None:
    """Refuse rows whose key another dataset of the same table already holds.

    Commune codes and census zones are unique across the whole table: the boundaries loaded
    twice under two names would count every commune twice. ``replaces`` leaves with the load.
    """
    keys = unique_keys(kind.table)
    if not keys or "dataset" in keys or frame.empty:
        return
    others = store.rows_of_other_datasets(kind.table, keys, [dataset, replaces])
    if others.empty:
        return
    clash = pd.DataFrame(frame[keys]).merge(others, on=keys)
    if clash.empty:
        return
    owner = str(clash["dataset"].iloc[0])
    examples = ", ".join(map(str, clash[keys[0]].head(3)))
    raise LayerError(
        f"{len(clash)} filas repiten claves ({', '.join(keys)}: {examples}…) que ya tiene el "
        f"conjunto {owner!r} de la tabla {kind.table}; para reemplazarlo cargue con --dataset "
        f"{owner} o con --replaces {owner}, o elimínelo antes con geogaps remove {owner}"
    )


def validate_rows(
    frame: pd.DataFrame,
    kind: Kind,
    store: Store,
    outcome: ValidationOutcome,
    path_name: str = "el archivo",
) -> pd.DataFrame:
    """Repair, code, check and flag a reader's rows; the rows that pass, without SOURCE_ROW.

    The commune outlines are read only when a check needs them (points checked against their
    commune, rows without a CUT): most spatial kinds never pay for the 345 polygons, and the
    point-in-commune check reads only the communes the points declare (all of them only when a
    point lies beyond the tolerance of its own and the nearest commune must be found).
    """
    if kind.spatial:
        frame = repair_geometries(frame, kind.geometry_type or "", outcome, kind.geometry_optional)
        if frame["cut"].isna().any():
            communes = communes_for_checks(store, kind, frame)
            if communes is not None:
                frame = assign_cut_by_location(frame, communes, outcome)
    frame = normalise_cuts(frame, outcome)
    # The code list defines the communes; boundaries are checked against it when it is loaded;
    # everything else is checked against both.
    if kind.name == "communes":
        codes = store.read_reference("territorial_codes", ["cut"])["cut"]
        if not codes.empty:
            frame = reject_unknown_cuts(frame, codes, outcome)
    elif kind.name != "territorial_codes":
        known = store.known_cuts()
        if not known:
            raise DependencyError(
                f"las filas de {kind.name} se comprueban contra la lista de comunas, que está "
                "vacía: cargue primero las comunas (geogaps load-file --kind communes ARCHIVO, "
                "o geogaps load)"
            )
        frame = reject_unknown_cuts(frame, known, outcome)
    refuse_conflicting_keys(frame, list(kind.key), path_name)
    frame = reject_out_of_integer_range(frame, int32_columns(kind.table, frame), outcome)
    frame = reject_out_of_range(frame, kind.table, outcome)
    frame = reject_broken_intervals(frame, kind.table, outcome, path_name)
    frame = reject_fractional_counts(frame, kind.table, outcome)
    if kind.spatial and "cut" in frame:
        frame = reject_antarctic_elsewhere(frame, outcome)
    if kind.check_point_in_commune and boundaries_loaded(store):
        declared = store.read_reference_for(
            "communes", ["cut", "geom"], frame["cut"].dropna().unique()
        )
        frame = check_declared_communes(
            frame, declared, outcome, lambda: store.read_reference("communes", ["cut", "geom"])
        )
    elif kind.check_point_in_commune:
        outcome.notes.append(
            "límites comunales sin cargar: los puntos sólo se comprobaron contra la extensión "
            "de Chile"
        )
    if kind.name == "communes":
        frame = frame.assign(area_km2=area_km2(frame.geometry).to_numpy())
    return frame.drop(columns=[SOURCE_ROW])


def int32_columns(table_name: str, frame: pd.DataFrame) -> list[str]:
    """Columns of ``frame`` stored as 32-bit integers."""
    table = table_named(table_name)
    return [
        c.name
        for c in table.columns
        if isinstance(c.type, Integer) and not isinstance(c.type, BigInteger) and c.name in frame
    ]


def boundaries_loaded(store: Store) -> bool:
    """Whether any commune outline is loaded (the codes are cached; no polygon is read)."""
    return not store.read_reference("communes", ["cut"]).empty


#: Margin (degrees) around the rows a load locates, so that a single point is a box too.
LOCATE_MARGIN_DEGREES = 0.01


def communes_for_checks(
    store: Store, kind: Kind, frame: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame | None:
    """The commune outlines a spatial kind's rows are located in (None if unneeded).

    Given ``frame``, only the communes whose outline meets the box around its rows without a
    CUT are read (a point lies within a commune only if that commune meets the box around the
    points), in the order of the full read: a village file of one commune reads one outline,
    not all 345. Every commune is read when none meets the box (the rows then stay unplaced,
    as before) or no row needs placing.
    """
    if not kind.spatial or kind.name == "communes":
        return None
    if frame is not None:
        missing = frame["cut"].isna() & frame.geometry.notna()
        if not missing.any():
            return None
        bounds = frame.loc[missing].geometry.representative_point().total_bounds
        if np.isfinite(bounds).all():
            low = bounds[:2] - LOCATE_MARGIN_DEGREES
            high = bounds[2:] + LOCATE_MARGIN_DEGREES
            box = (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
            nearby = store.read("communes", bbox=box, columns=["cut", "geom"])
            if not nearby.empty:
                return nearby
    communes = store.read_reference("communes", ["cut", "geom"])
    return None if communes.empty else communes


def assign_cut_by_location(
    frame: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, outcome: ValidationOutcome
) -> gpd.GeoDataFrame:
    """Give rows without a CUT the commune that contains their representative point."""
    missing = frame["cut"].isna() & frame.geometry.notna()
    if not missing.any():
        return frame
    points = gpd.GeoDataFrame(
        geometry=frame.loc[missing].geometry.representative_point(), crs=frame.crs
    )
    joined = gpd.sjoin(points, communes, how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    frame = frame.copy()
    frame.loc[missing, "cut"] = joined["cut"].reindex(frame.index[missing]).to_numpy()
    outcome.notes.append(
        f"{format_integer(missing.sum())} filas sin código comunal: se les asignó por ubicación"
    )
    return frame


def unique_names(store: Store) -> dict[str, str]:
    """Folded commune name → CUT, for names that identify a single commune.

    A name is ambiguous only when it folds to the name of two different communes: the code
    list's "Vicuña" and the boundaries' "Vicuna" are one commune, and both spellings find it.
    """
    # Plain Python over a few hundred (code, name) pairs: cheaper than frames at this size.
    cuts_by_name: dict[str, set[str]] = {}
    for table_name in ("territorial_codes", "communes"):
        names = store.read_reference(table_name, ["cut", "name"])
        for cut, name in zip(names["cut"], names["name"], strict=True):
            cuts_by_name.setdefault(fold(name), set()).add(str(cut))
    return {folded: cuts.pop() for folded, cuts in cuts_by_name.items() if len(cuts) == 1}
