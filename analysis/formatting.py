"""Numbers, shares, ranks and lists written for people, the Chilean way, in one place.

Every number a planner reads — in the CLI, the explanations, the map, the profile page and the
Excel-ready CSV — goes through these functions, so ``1.234.567,8``, ``45,1 %`` and
``3 de 15`` look the same everywhere. Locale data come from babel (``es_CL``): thousands
point, decimal comma. Percentages carry a space before ``%`` as the RAE writes them. The
formatters ``layers/`` also needs (numbers, counts, shares, seconds) are defined in
:mod:`domain.numbers` and re-exported here.
A missing value (None or NaN) is written ``sin dato`` (:data:`domain.MISSING`) rather than a
misleading zero; a place in a ranking fills the template :func:`domain.labels.rank_of`, which
the map's script receives too.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Final

from babel.dates import format_date as _babel_date

from domain.labels import MISSING as MISSING  # re-exported beside the formatters that write it
from domain.labels import rank_of as rank_label

# The formatters layers/ needs too live in the vocabulary package; re-exported here so this
# module stays the one place every other package takes number formatting from.
from domain.numbers import LOCALE as LOCALE
from domain.numbers import format_integer as format_integer
from domain.numbers import format_number as format_number
from domain.numbers import format_seconds as format_seconds
from domain.numbers import format_share as format_share
from domain.numbers import is_missing as is_missing
from domain.text import join_spanish as join_spanish

#: Decimals shown per unit; other units get two.
UNIT_DECIMALS: Final = {"%": 1, "km": 1, "CLP/hab": 0, "hab/km²": 1, "min": 0, "minutos": 0}


def format_value(value: float | None, unit: str) -> str:
    """A raw indicator value with its unit (``45,1 %``, ``12,3 km``, ``1.234 CLP/hab``)."""
    if is_missing(value):
        return MISSING
    return f"{format_number(value, UNIT_DECIMALS.get(unit, 2))} {unit}"


def format_rank(rank: float | None) -> str:
    """A rank, whole when it is one (``12``), otherwise one decimal (``12,5``)."""
    if is_missing(rank):
        return MISSING
    return format_number(rank, 0 if float(rank).is_integer() else 1)  # type: ignore[arg-type]


def rank_of(rank: float | None, total: int | None) -> str:
    """``3 de 15``: a rank within the number of ranked communes."""
    if is_missing(rank) or total is None:
        return MISSING
    return _rank_of(float(rank), int(total))  # type: ignore[arg-type]


@lru_cache(maxsize=65536)
def _rank_of(rank: float, total: int) -> str:
    # Places and totals repeat on every score row a server writes: each is formatted once.
    return rank_label(format_rank(rank), format_integer(total))


def format_interval(low: float | None, high: float | None) -> str:
    """A rank interval ``3–27`` (en dash), or ``sin dato``."""
    if is_missing(low) or is_missing(high):
        return MISSING
    return f"{format_rank(low)}–{format_rank(high)}"


def format_day(day: date | datetime | None) -> str:
    """A date the Chilean way: ``22-11-2026``."""
    if day is None:
        return MISSING
    return _babel_date(day, format="dd-MM-yyyy", locale=LOCALE)
