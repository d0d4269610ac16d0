"""Parsing of the number and code formats found in Chilean public data."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from domain.errors import InvalidInputError

_CHILEAN_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+([eE][+-]?\d+)?$")


def parse_chilean_number(value: object) -> float:
    """Parse one number written the Chilean way, the international way, or already numeric.

    Parameters
    ----------
    value
        ``"1.234.567,89"``, ``"0,1827"``, ``"4,19e+04"``, ``"$ 12.500"``, ``"1234.5"``, ``1234``,
        ``None`` or an empty string.

    Returns
    -------
    float
        The value, or NaN for empty input.

    Raises
    ------
    ValueError
        If the text is not a number in any of these formats.

    Notes
    -----
    ``"1.234"`` is read as one thousand two hundred thirty-four (Chilean thousands separator),
    because a dot followed by exactly three digits is how SINIM, INE and MDSF publish integers.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return float("nan")
    if isinstance(value, int | float | np.number):
        return float(value)
    text = str(value).strip().replace("$", "").replace("\u00a0", "").replace(" ", "")
    if text in ("", "-", "NA", "N/A", "nan", "NaN", "s/i", "S/I"):
        return float("nan")
    if _CHILEAN_THOUSANDS.match(text):
        return float(text.replace(".", "").replace(",", "."))
    if _DECIMAL_COMMA.match(text):
        return float(text.replace(",", "."))
    try:
        return float(text)
    except ValueError:
        raise InvalidInputError(f"no es un número: {value!r}") from None


def parse_number_column(series: pd.Series) -> pd.Series:
    """Parse a column with :func:`parse_chilean_number`; unparseable cells become NaN.

    Numeric columns are returned as float without going through text.
    """
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)

    def _safe(value: object) -> float:
        try:
            return parse_chilean_number(value)
        except ValueError:
            return float("nan")

    # Thousands of cells repeat a few hundred numbers (inhabitants, dwellings): parse each
    # distinct text once; missing cells (code -1) stay NaN. Codes index the parsed values
    # directly: mapping a text column through a dict costs more than the parsing.
    codes, distinct = pd.factorize(series.to_numpy(dtype=object))
    parsed = np.array([_safe(value) for value in distinct] + [float("nan")], dtype=float)
    return pd.Series(parsed[codes], index=series.index, name=series.name, dtype=float)


def pad_cut(value: object) -> str | None:
    """Return a CUT commune code as five-character text (``4303`` → ``"04303"``).

    Returns None when the value cannot be a commune code (empty, not an integer, more than five
    digits); callers reject those rows with a reason.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit() or len(text) > 5 or int(text) == 0:
        return None
    return text.zfill(5)
