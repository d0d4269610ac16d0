"""Dataset names: short slugs, the same rule for the CLI, the upload form and file names.

A dataset name is shown in ``/datasets``, in every score response and in reports; it is also a
key in both stores. Letters without accents, digits and ``_`` only (upper case is accepted and
kept), at most :data:`MAX_DATASET_NAME` characters, so a name can never be a path, markup or SQL.
"""

from __future__ import annotations

import re
import unicodedata

#: Longest dataset name accepted.
MAX_DATASET_NAME = 63
#: A dataset name, checked after lower-casing.
DATASET_NAME_PATTERN = rf"^[a-z0-9_]{{1,{MAX_DATASET_NAME}}}$"
_DATASET_NAME = re.compile(DATASET_NAME_PATTERN)
_NOT_SLUG = re.compile(r"[^A-Za-z0-9_]")
#: The rule, as the refusal states it.
DATASET_NAME_RULE = (
    f"solo letras sin tilde, dígitos y guion bajo (_), de 1 a {MAX_DATASET_NAME} caracteres"
)


def is_dataset_name(name: str) -> bool:
    """Whether ``name`` is an acceptable dataset name (letters, digits, ``_``; 1–63 chars)."""
    return bool(_DATASET_NAME.fullmatch(name.lower()))


def dataset_name_from_file(stem: str) -> str:
    """The dataset name derived from a file name without extension.

    Accents are folded (``Ñuble`` → ``Nuble``), any other character becomes ``_`` and the
    result is cut to :data:`MAX_DATASET_NAME` characters; case is kept, so the names of files
    already loaded do not change. ``"Agua potable 2024"`` becomes ``Agua_potable_2024``.
    """
    decomposed = unicodedata.normalize("NFKD", stem)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_SLUG.sub("_", folded)[:MAX_DATASET_NAME] or "_"


def invalid_dataset_name_message(name: str) -> str:
    """The Spanish sentence refusing ``name`` (shown cut to 40 characters)."""
    shown = name if len(name) <= 40 else name[:37] + "…"
    return (
        f"{shown!r} no es un nombre de conjunto válido ({len(name)} caracteres): use "
        f"{DATASET_NAME_RULE}, p. ej. apr_coyhaique_2024"
    )
