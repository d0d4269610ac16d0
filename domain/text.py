"""Tolerant matching of names typed by people (columns, categories, places)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def fold(text: object) -> str:
    """Lower-case ``text`` without accents, spaces or separators.

    ``"Región Ñuble"`` becomes ``regionnuble``. Used to match column names, categories and
    place names written in different ways.
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed.lower() if c.isalnum() and not unicodedata.combining(c))


def join_spanish(items: Sequence[str]) -> str:
    """Join ``a, b y c`` in Spanish."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} y {items[-1]}"
