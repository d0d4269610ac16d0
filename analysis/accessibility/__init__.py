"""Population-weighted travel time to services: pure raster maths on arrays and DataFrames.

Modules: :mod:`~analysis.accessibility.grid` (grids and CRS), :mod:`~.population`
(dasymetric population surface), :mod:`~.friction` (speeds and barriers), :mod:`~.travel`
(cost distance with scikit-image), :mod:`~.zonal` (exactextract statistics),
:mod:`~.destinations` (what is measured to) and :mod:`~.pipeline` (all of it together).
"""

from analysis.accessibility.destinations import FACILITY_KINDS, FACILITY_LABELS
from analysis.accessibility.pipeline import (
    AccessibilityResult,
    GridResult,
    LandCover,
    run_accessibility,
)

__all__ = [
    "FACILITY_KINDS",
    "FACILITY_LABELS",
    "AccessibilityResult",
    "GridResult",
    "LandCover",
    "run_accessibility",
]
