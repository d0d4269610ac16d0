"""Shares and percentages: one unit per file for a rate and its interval, read from every value.

A publisher writes a rate either as a share (0,1827) or as a percentage (18,27). The unit is
decided from the whole of the rate column and its interval columns together, never from one
value, and the same divisor applies to all of them:

* no value above 1: shares (unless the header declares percentages, see below);
* some values above 1, and at most :data:`SMALL_IN_PERCENTAGES` of the non-zero values in
  (0, 1]: percentages, divided by 100 (small percentages such as a 0,6 % lower bound exist);
* some values above 1 and more than that share in (0, 1]: the columns mix both units, and the
  file is refused naming up to :data:`NAMED_ROWS` of the rows in the minority unit.

Exact zeros are the same in both units and do not count. A header that declares percentages
(``tasa_pobreza_ingresos_pct``) fixes the unit; the file is then refused if its values mix units
or are all shares (every non-zero value in (0, 1]), since dividing them would be a hundredfold
error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from layers.errors import MixedUnitsError
from layers.readers.columns import Frame
from layers.validation import SOURCE_ROW, row_label

#: Largest share of a percentage column's non-zero values that may lie in (0, 1]: 20 %.
SMALL_IN_PERCENTAGES = 0.2
#: How many offending rows a refusal names.
NAMED_ROWS = 5


def percent_divisor(
    frame: Frame,
    values: dict[str, pd.Series],
    cut: pd.Series,
    path: Path,
    declared_percent: bool = False,
) -> float:
    """1 when ``values`` (file column → parsed numbers) are shares, 100 when percentages.

    Raises
    ------
    MixedUnitsError
        If the columns mix shares and percentages, or are declared percentages but hold only
        shares; the message names up to :data:`NAMED_ROWS` rows and what to do.
    """
    present = {name: column for name, column in values.items() if column.notna().any()}
    if not present:
        return 100.0 if declared_percent else 1.0
    table = pd.DataFrame(present)
    finite = table.where(np.isfinite(table))
    above_one = finite > 1
    in_unit_range = (finite > 0) & (finite <= 1)
    large, small = int(above_one.to_numpy().sum()), int(in_unit_range.to_numpy().sum())
    names = ", ".join(present)
    if large and small > SMALL_IN_PERCENTAGES * (large + small):
        minority = above_one if large <= small else in_unit_range
        raise MixedUnitsError(
            f"{path.name}: {names} mezcla proporciones (entre 0 y 1) y porcentajes (mayores que "
            f"1): de {large + small} valores distintos de cero, {large} pasan de 1 y {small} no "
            f"({_examples(frame, minority, cut, path)}); escriba todos los valores en una sola "
            "unidad (todos proporciones, 0,1827, o todos porcentajes, 18,27) y cargue de nuevo"
        )
    if large:
        return 100.0
    if declared_percent and small:
        raise MixedUnitsError(
            f"{path.name}: {names} debería estar en porcentaje pero todos sus valores están entre "
            f"0 y 1 ({_examples(frame, in_unit_range, cut, path)}); si son proporciones "
            "multiplíquelos por 100, o cárguelos con una columna sin el sufijo _pct"
        )
    return 100.0 if declared_percent else 1.0


def _examples(frame: Frame, mask: pd.DataFrame, cut: pd.Series, path: Path) -> str:
    """Where the first :data:`NAMED_ROWS` rows under ``mask`` are, with the values as written."""
    rows = mask.index[mask.any(axis=1)]
    shown = []
    for index in rows[:NAMED_ROWS]:
        written = "; ".join(
            f"{name} = {frame[name][index]}" for name in mask.columns if mask.at[index, name]
        )
        shown.append(
            f"{row_label(int(frame[SOURCE_ROW][index]), path.name)}, comuna {cut[index]}: {written}"
        )
    more = f" y {len(rows) - NAMED_ROWS} filas más" if len(rows) > NAMED_ROWS else ""
    return "; ".join(shown) + more
