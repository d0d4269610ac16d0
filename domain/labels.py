"""The words every surface writes for places in a ranking and for missing values.

The map's script gets :data:`LABELS` in its page configuration and fills the same templates, so
the table, the panel, the CSV, the profile and the API say a place the same way.
"""

from __future__ import annotations

from typing import Final

#: A missing value: never a misleading zero.
MISSING: Final = "sin dato"
#: A commune without a place in a ranking (not scored).
NO_RANK: Final = "sin lugar"
#: Templates shared with the page's script (``{rank}`` and ``{total}`` already formatted).
LABELS: Final[dict[str, str]] = {
    "missing": MISSING,
    "no_rank": NO_RANK,
    "rank_of": "{rank} de {total}",
}


def rank_of(rank: str, total: str) -> str:
    """``"3 de 15"`` from an already formatted place and total."""
    return LABELS["rank_of"].format(rank=rank, total=total)
