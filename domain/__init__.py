"""The vocabulary of geogaps, in one place.

Regions, CUT codes, dataset names, project typologies and stages, Mesa actor types and the
words every surface shows for ranks and missing values.

This package imports nothing of the project, so ``layers/``, ``analysis/``, ``maps/`` and
``geo_service/`` all import it and never restate a code, a label or a pattern. The map's script
receives :data:`domain.labels.LABELS` in its page configuration, so Python and JavaScript write
the same words.
"""

from domain.datasets import (
    DATASET_NAME_PATTERN,
    MAX_DATASET_NAME,
    dataset_name_from_file,
    is_dataset_name,
)
from domain.errors import (
    ConflictError,
    GeogapsError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
)
from domain.labels import LABELS, MISSING, NO_RANK, rank_of
from domain.projects import (
    ACTOR_TYPES,
    LOCATION_PRECISIONS,
    PROJECT_STAGES,
    PROJECT_TYPOLOGIES,
    TYPOLOGY_LABELS,
)
from domain.regions import (
    CUT_PATTERN,
    REGION_NAMES,
    REGION_PATTERN,
    REGION_PATTERN_WITH_NATIONAL,
    is_region_code,
    region_of,
    regions_of,
)
from domain.text import fold

__all__ = [
    "ACTOR_TYPES",
    "CUT_PATTERN",
    "DATASET_NAME_PATTERN",
    "LABELS",
    "LOCATION_PRECISIONS",
    "MAX_DATASET_NAME",
    "MISSING",
    "NO_RANK",
    "PROJECT_STAGES",
    "PROJECT_TYPOLOGIES",
    "REGION_NAMES",
    "REGION_PATTERN",
    "REGION_PATTERN_WITH_NATIONAL",
    "TYPOLOGY_LABELS",
    "ConflictError",
    "GeogapsError",
    "InvalidInputError",
    "NotFoundError",
    "UnavailableError",
    "dataset_name_from_file",
    "fold",
    "is_dataset_name",
    "is_region_code",
    "rank_of",
    "region_of",
    "regions_of",
]
