"""Numbers for people, the Chilean way: ``1.234.567,8``, ``45,1 %``, ``26,8 s``.

The few number formatters every layer needs live here, in the vocabulary package, so that
``layers/`` (load reasons, notes, logs) and ``analysis/`` write numbers identically without
importing each other; :mod:`analysis.formatting` re-exports them beside the formatters that
only the analysis needs (ranks, intervals, units). Locale data come from babel (``es_CL``):
thousands point, decimal comma, a space before ``%`` as the RAE writes it. A missing value
(None or NaN) is written ``sin dato`` (:data:`domain.labels.MISSING`), never a misleading zero.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Final

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern

from domain.labels import MISSING

LOCALE: Final = "es_CL"


def is_missing(value: object) -> bool:
    """Whether ``value`` is None or a float NaN (or not a number at all)."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def format_number(value: float | None, decimals: int = 2) -> str:
    """``1.234.567,89`` with exactly ``decimals`` decimals; ``sin dato`` when missing.

    Examples
    --------
    >>> format_number(1234567.891, 1)
    '1.234.567,9'
    """
    if is_missing(value):
        return MISSING
    rounded = round(float(value), decimals)  # type: ignore[arg-type]
    if decimals <= FAST_DECIMALS and abs(rounded) < FAST_LIMIT:
        # Python's own grouping, with the locale's symbols swapped in: the same text as babel's
        # (see FAST_LIMIT) in a thirtieth of the time; explanations write thousands of numbers.
        return f"{rounded + 0.0:,.{decimals}f}".translate(_symbols())
    # What babel's format_decimal does, minus re-parsing the locale and pattern on every call.
    text: str = _decimal_pattern(decimals).apply(rounded + 0.0, _locale())
    return text


#: Below this magnitude, with at most :data:`FAST_DECIMALS` decimals, a rounded number has at
#: most 15 significant digits, which a float keeps exactly: Python prints the same digits as
#: babel (which reads ``str(value)``), so :func:`format_number` only swaps the symbols.
FAST_LIMIT: Final = 1e12
FAST_DECIMALS: Final = 3


@cache
def _symbols() -> dict[int, str]:
    """Python's ``,`` and ``.`` → the locale's grouping and decimal symbols."""
    symbols = _locale().number_symbols["latn"]
    return str.maketrans(
        {",": symbols["group"], ".": symbols["decimal"], "-": symbols["minusSign"]}
    )


@cache
def _locale() -> Locale:
    return Locale.parse(LOCALE)


@cache
def _decimal_pattern(decimals: int) -> NumberPattern:
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals > 0 else ""))


def format_integer(value: float | None) -> str:
    """A count with thousands points: ``29.256``."""
    return format_number(value, 0)


def format_share(share: float | None, decimals: int = 0) -> str:
    """A 0–1 share as a percentage with a space before the sign: ``78 %``, ``4,5 %``."""
    if is_missing(share):
        return MISSING
    return f"{format_number(100.0 * float(share), decimals)} %"  # type: ignore[arg-type]


def format_seconds(seconds: float | None) -> str:
    """A duration for a log or a closing line: ``26,8 s`` (one decimal), ``0,04 s`` below 0,1 s.

    Examples
    --------
    >>> format_seconds(26.83)
    '26,8 s'
    """
    if is_missing(seconds):
        return MISSING
    return f"{format_number(seconds, 2 if float(seconds) < 0.1 else 1)} s"  # type: ignore[arg-type]
