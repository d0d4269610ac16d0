"""Property tests of the unit rule (shares or percentages) and the interval rule (issue 16).

The unit rule is :mod:`layers.readers.units`, run through the real poverty readers on synthetic
files written the Chilean way (decimal comma); the interval rule is
:func:`layers.validation.reject_broken_intervals`, as the loader applies it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.errors import LayerError, MixedUnitsError
from layers.readers import ReadContext, kind_named
from layers.validation import SOURCE_ROW, ValidationOutcome, reject_broken_intervals

PATH = Path("pobreza_multidimensional_2022.csv")
COLUMNS = ("pobreza_p", "limite_inferior", "limite_superior")
STORED = ("rate", "ci_lower", "ci_upper")

#: Shares large enough that, as percentages, they are all above 1 (so the unit is readable).
readable_share = st.floats(min_value=0.011, max_value=1.0)
share_row = st.tuples(readable_share, readable_share, readable_share).map(sorted)


def _written(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


def _raw(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """A raw poverty file as the CSV reader returns it: text cells and the source row."""
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame.insert(0, "codigo", [f"{1101 + i}" for i in range(len(rows))])
    frame.insert(0, SOURCE_ROW, range(1, len(rows) + 1))
    return frame


def _read(raw: pd.DataFrame, kind: str = "poverty") -> pd.DataFrame:
    frame: pd.DataFrame = kind_named(kind).transform(raw, PATH, ReadContext(), ValidationOutcome())
    return frame


def _as_shares(rows: list[list[float]]) -> pd.DataFrame:
    return _raw([(_written(r, 6), _written(lo, 6), _written(up, 6)) for lo, r, up in rows])


def _as_percentages(rows: list[list[float]]) -> pd.DataFrame:
    return _raw(
        [(_written(100 * r, 4), _written(100 * lo, 4), _written(100 * up, 4)) for lo, r, up in rows]
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(share_row, min_size=1, max_size=30))
def test_a_file_of_percentages_stores_the_same_shares(rows):
    shares = _read(_as_shares(rows))
    percentages = _read(_as_percentages(rows))
    for column in STORED:
        np.testing.assert_allclose(percentages[column], shares[column], atol=1e-6)
    # shares are stored as written, and their intervals with them
    np.testing.assert_allclose(shares["rate"], [r for _, r, _ in rows], atol=1e-6)
    np.testing.assert_allclose(shares["ci_lower"], [lo for lo, _, _ in rows], atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(share_row, min_size=1, max_size=30),
    st.floats(min_value=1.01, max_value=100.0),
    st.data(),
)
def test_one_percentage_among_shares_is_always_refused(rows, percentage, data):
    position = data.draw(st.integers(min_value=0, max_value=len(rows)))
    raw = _as_shares(rows)
    typed = _raw([(_written(percentage, 2), "", "")])
    raw = pd.concat([raw.iloc[:position], typed, raw.iloc[position:]], ignore_index=True)
    raw[SOURCE_ROW] = range(1, len(raw) + 1)
    with pytest.raises(MixedUnitsError) as refusal:
        _read(raw)
    message = str(refusal.value)
    assert f"línea {position + 2}," in message
    assert f"pobreza_p = {_written(percentage, 2)}" in message
    assert "una sola unidad" in message


@settings(max_examples=40, deadline=None)
@given(st.lists(share_row, min_size=1, max_size=20))
def test_declared_percentages_written_as_shares_are_refused(rows):
    raw = _as_shares(rows).rename(
        columns={
            "pobreza_p": "tasa_pobreza_ingresos_pct",
            "limite_inferior": "limite_inferior_pct",
            "limite_superior": "limite_superior_pct",
            "codigo": "codigo_comuna",
        }
    )
    with pytest.raises(MixedUnitsError, match="debería estar en porcentaje"):
        _read(raw, "income_poverty")


def test_missing_bounds_stay_missing():
    raw = _raw([("0,2", "", ""), ("0,3", "0,25", "")])
    frame = _read(raw)
    assert frame["ci_lower"].isna().tolist() == [True, False]
    assert frame["ci_upper"].isna().all()


bound = st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(bound, st.floats(min_value=0.0, max_value=1.0), bound), max_size=40))
def test_every_accepted_row_holds_its_interval(rows):
    frame = pd.DataFrame(
        [(lo, r, up) for lo, r, up in rows], columns=["ci_lower", "rate", "ci_upper"], dtype=float
    )
    frame.insert(0, SOURCE_ROW, range(1, len(frame) + 1))
    outcome = ValidationOutcome()
    broken = [(lo is not None and lo > r) or (up is not None and r > up) for lo, r, up in rows]
    bounded = sum(lo is not None or up is not None for lo, _, up in rows)
    try:
        kept = reject_broken_intervals(frame, "poverty", outcome, PATH.name)
    except LayerError as refusal:
        assert sum(broken) > 0.5 * bounded
        assert "no cumplen ci_lower ≤ rate ≤ ci_upper" in str(refusal)
        return
    low, high = kept["ci_lower"], kept["ci_upper"]
    assert ((low.isna()) | (low <= kept["rate"])).all()
    assert ((high.isna()) | (kept["rate"] <= high)).all()
    assert sorted(r.row for r in outcome.rejections) == [
        i + 1 for i, is_broken in enumerate(broken) if is_broken
    ]
    assert all("no se cumple ci_lower ≤ rate ≤ ci_upper" in r.reason for r in outcome.rejections)
    # missing bounds are kept missing, never filled
    assert kept["ci_lower"].isna().sum() == sum(
        lo is None for (lo, _, _), b in zip(rows, broken, strict=True) if not b
    )
    assert not any(math.isnan(v) for v in kept["rate"])
