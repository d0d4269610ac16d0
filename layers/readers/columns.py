"""Building a reader's output columns from a raw frame, whatever the publisher named them."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from domain.text import fold
from layers.parsing import parse_number_column
from layers.readers.context import ReadContext
from layers.readers.files import find_column
from layers.validation import SOURCE_ROW, ValidationOutcome

Frame = pd.DataFrame
#: Column names that hold a commune's CUT code in the layouts that are not national tables.
CUT_NAMES = ("cut", "cod_comuna", "cut_com", "codigo_comuna", "comunacodigo", "cod_com")


def text_of(frame: Frame, column: str | None) -> pd.Series:
    """Stripped text of ``column`` (None where empty); all None when there is no such column."""
    if column is None:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    text = frame[column].astype("string").str.strip()
    return text.astype(object).where(text.notna(), None)


def numbers_of(frame: Frame, column: str | None) -> pd.Series:
    """Numbers of ``column`` written the Chilean way; all NaN when there is no such column."""
    if column is None:
        return pd.Series(float("nan"), index=frame.index)
    return parse_number_column(frame[column])


def keep_columns(frame: Frame, columns: dict[str, Any]) -> Frame:
    """Build the output frame: the given columns, the source row and (if any) the geometry."""
    out = pd.DataFrame(columns, index=frame.index)
    out.insert(0, SOURCE_ROW, frame[SOURCE_ROW])
    if isinstance(frame, gpd.GeoDataFrame):
        out["geom"] = frame.geometry.array
        spatial: Frame = gpd.GeoDataFrame(out, geometry="geom", crs=frame.crs)
        return spatial
    return out


def cut_codes(frame: Frame, context: ReadContext, names: tuple[str, ...]) -> pd.Series:
    """CUT codes from a code column, else from a commune-name column, else all missing."""
    code = find_column(frame, names)
    if code is not None:
        return text_of(frame, code)
    name = find_column(frame, ("comuna", "nom_comuna", "nombre_comuna", "commune"))
    if name is not None and context.commune_names:
        return frame[name].map(lambda v: context.commune_names.get(fold(v)) if v else None)
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def require_number(frame: Frame, column: str, outcome: ValidationOutcome, label: str) -> Frame:
    """Reject the rows whose ``column`` is missing or not a number."""
    return outcome.reject(frame, frame[column].isna(), f"{label}: falta o no es un número")
