"""Coverage is data: which communes each point layer covers, and the sentence that says so.

A layer covers a commune when it holds at least one of its rows (an APR file loaded for two
communes covers those two). Wherever a layer is shown — the profile, the map panel, the map's
layers, the API — a commune it does not cover reads "sin dato" with this reason, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pandas as pd

from analysis.wording import layer_coverage_sentence, not_covered_reason

#: Point layers whose coverage is partial, by table: the name a person reads.
LAYER_NAMES: Final = {
    "apr_systems": "La capa APR",
    "project_sites": "La capa de proyectos",
}


@dataclass(frozen=True)
class LayerCoverage:
    """The communes one layer covers among all loaded communes."""

    table: str
    cuts: frozenset[str]
    total: int

    @property
    def name(self) -> str:
        """The layer's name for people (``La capa APR``)."""
        return LAYER_NAMES.get(self.table, f"La capa {self.table}")

    def covers(self, cut: str) -> bool:
        """Whether the layer has data for commune ``cut``."""
        return str(cut) in self.cuts

    def sentence(self, region: str | None = None, region_cuts: int | None = None) -> str:
        """``La capa APR cubre 2 de 345 comunas`` (of a region's communes when given)."""
        if region is None or region_cuts is None:
            return layer_coverage_sentence(self.name, len(self.cuts), self.total)
        inside = sum(1 for cut in self.cuts if cut[:2] == region)
        return layer_coverage_sentence(self.name, inside, region_cuts, " de la región")

    def reason(self) -> str:
        """Why a commune outside the layer has no value from it."""
        return not_covered_reason(self.name, len(self.cuts), self.total)

    def summary(
        self, region: str | None = None, region_cuts: int | None = None
    ) -> dict[str, object]:
        """JSON-ready coverage: communes covered, total and the sentence."""
        if region is None or region_cuts is None:
            covered, total = len(self.cuts), self.total
        else:
            covered, total = sum(1 for cut in self.cuts if cut[:2] == region), region_cuts
        return {
            "communes_covered": covered,
            "communes_total": total,
            "note": self.sentence(region, region_cuts),
        }


def coverage_of(table: str, rows: pd.DataFrame, total: int) -> LayerCoverage:
    """The coverage of ``table`` from its rows (a ``cut`` column) among ``total`` communes."""
    cuts = frozenset(rows["cut"].dropna().astype(str)) if "cut" in rows.columns else frozenset()
    return LayerCoverage(table, cuts, total)
