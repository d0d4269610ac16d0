"""Score rows and records as the API and the stored profiles write them (JSON-ready)."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any, cast

import numpy as np
import pandas as pd

from analysis.formatting import rank_of
from domain import region_of, regions_of
from layers.runs import NATIONAL_SCOPE, RunRecord


def clean(value: Any) -> Any:
    """``value`` with NaN/Infinity/NA as None and numpy/pandas scalars as Python ones."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-ready dicts (no geometry)."""
    plain = pd.DataFrame(frame).drop(columns=["geom"], errors="ignore")
    # Column by column: what clean(plain.to_dict("records")) gives, in a fraction of the time.
    names = [str(name) for name in plain.columns]
    if not names:
        return [{} for _ in range(len(plain))]
    columns = [_plain_values(plain.iloc[:, position]) for position in range(len(names))]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _plain_values(column: pd.Series) -> list[Any]:
    """A column's values as :func:`clean` writes them."""
    dtype = column.dtype
    if dtype.kind == "f":
        return [v if math.isfinite(v) else None for v in column.to_numpy().tolist()]
    if dtype.kind in "iub" or isinstance(dtype, pd.StringDtype):
        # Plain Python ints, bools and strings already; pandas' NA (nullable dtypes) → None.
        # (pandas' stubs refuse None as na_value, which pandas accepts.)
        to_objects = cast(Any, column.to_numpy)
        values: list[Any] = to_objects(dtype=object, na_value=None).tolist()
        return values
    return [clean(value) for value in column.tolist()]


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as pandas writes them to JSON (``NaN`` → ``null``, ISO dates), the same for both stores.

    The decision tools' answers use it; :func:`records` is the score routes' variant.
    """
    rows: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", force_ascii=False, date_format="iso")
    )
    return rows


def region_counts(scores: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Communes ranked per (challenge, region) in score rows, for "n de N" regional ranks."""
    ranked = scores[scores["rank"].notna()]
    if "region_code" in ranked.columns:
        regions = ranked["region_code"].fillna(regions_of(ranked["cut"]))
    else:
        regions = regions_of(ranked["cut"])
    counts = ranked.groupby([ranked["challenge"], regions]).size()
    return {(str(key[0]), str(key[1])): int(n) for key, n in counts.items()}  # type: ignore[index]


def score_rows(
    frame: pd.DataFrame,
    run: RunRecord | None,
    stats: dict[tuple[str, str], int],
    national_totals: dict[str, int],
) -> list[dict[str, Any]]:
    """Score rows of the contract: name, national and regional rank as "3 de 15"."""
    rows: list[dict[str, Any]] = []
    regional_scope = run is not None and run.scope != NATIONAL_SCOPE
    for row in records(frame.drop(columns=["run_id"], errors="ignore")):
        region = row.get("region_code") or region_of(row["cut"])
        row["region_code"] = region
        national_total = None if regional_scope else national_totals.get(row["challenge"])
        region_total = stats.get((row["challenge"], region))
        if regional_scope:
            # A regional run ranks within its region only.
            row["rank_region"] = row.get("rank")
            for name in ("median_rank", "rank_p05", "rank_p95", "top_tier_share"):
                row.setdefault(f"{name}_region", row.get(name))
                if row.get(f"{name}_region") is None:
                    row[f"{name}_region"] = row.get(name)
        row["national_total"] = national_total
        row["region_total"] = region_total
        row["rank_label"] = (
            rank_of(row["rank"], national_total)
            if row.get("rank") is not None and national_total
            else None
        )
        row["rank_region_label"] = (
            rank_of(row["rank_region"], region_total)
            if row.get("rank_region") is not None and region_total
            else None
        )
        rows.append(row)
    return rows
