"""Chile's regions and the CUT commune code (Código Único Territorial, SUBDERE).

A CUT has five digits; its first two are the region's code (``04303`` is in region ``04``).
"""

from __future__ import annotations

import re
from typing import Final

import pandas as pd

#: Region code → official name (SUBDERE), in code order.
REGION_NAMES: Final[dict[str, str]] = {
    "01": "Tarapacá",
    "02": "Antofagasta",
    "03": "Atacama",
    "04": "Coquimbo",
    "05": "Valparaíso",
    "06": "Libertador General Bernardo O'Higgins",
    "07": "Maule",
    "08": "Biobío",
    "09": "La Araucanía",
    "10": "Los Lagos",
    "11": "Aysén del General Carlos Ibáñez del Campo",
    "12": "Magallanes y de la Antártica Chilena",
    "13": "Metropolitana de Santiago",
    "14": "Los Ríos",
    "15": "Arica y Parinacota",
    "16": "Ñuble",
}
#: A two-digit region code, 01 to 16 (for FastAPI ``pattern=`` and validators).
REGION_PATTERN: Final = r"^(0[1-9]|1[0-6])$"
#: A run's scope: ``nacional`` or a region code.
REGION_PATTERN_WITH_NATIONAL: Final = r"^(nacional|0[1-9]|1[0-6])$"
#: A commune's CUT code: five digits.
CUT_PATTERN: Final = r"^\d{5}$"

_REGION = re.compile(REGION_PATTERN)


def is_region_code(code: object) -> bool:
    """Whether ``code`` is a two-digit region code from ``01`` to ``16``."""
    return isinstance(code, str) and _REGION.fullmatch(code) is not None


def region_of(cut: object) -> str:
    """The region code of a CUT (its first two digits; ``4303`` is read as ``04303``)."""
    return str(cut).strip().zfill(5)[:2]


def regions_of(cuts: pd.Series) -> pd.Series:
    """The region code of every CUT of a column (missing stays missing)."""
    return cuts.astype("string").str.strip().str.zfill(5).str[:2]
