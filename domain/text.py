"""Tolerant matching of names typed by people (columns, categories, places)."""

from __future__ import annotations

import unicodedata


def fold(text: object) -> str:
    """Lower-case ``text`` without accents, spaces or separators.

    ``"Región Ñuble"`` becomes ``regionnuble``. Used to match column names, categories and
    place names written in different ways.
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed.lower() if c.isalnum() and not unicodedata.combining(c))
