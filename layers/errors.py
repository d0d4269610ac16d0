"""Exceptions raised by layers for problems a user can act on.

Every one derives from :mod:`domain.errors`, so the API's status table maps it: a file or a
store refusing a load is a :class:`LayerError`; an unknown run, feature or tile is a
:class:`domain.errors.NotFoundError`; a request parameter a collection cannot answer is a
:class:`domain.errors.InvalidInputError`.
"""

from pathlib import Path

from domain.errors import GeogapsError, InvalidInputError, NotFoundError, UnavailableError


class LayerError(GeogapsError):
    """A user-facing problem with an input file or the store; the message says what to do."""


class MissingCRSError(LayerError):
    """The file declares no coordinate reference system and none was given."""


class InvalidDatasetNameError(LayerError):
    """A dataset name that is not a short slug (letters, digits, ``_``)."""


class TruncatedFileError(LayerError):
    """A file that stops early: cut mid-row, inside a quoted field or before its JSON closes."""


class MixedUnitsError(LayerError):
    """A share-or-percentage column that mixes both units (one rate typed as 18,27 among 0,18)."""


class SchemaError(LayerError):
    """The file lacks the columns its kind needs."""


class DependencyError(LayerError):
    """A dataset needs another one (e.g. the commune list) that is not loaded yet."""


class StoreWriteError(LayerError):
    """The store refused the rows of a dataset; the transaction was rolled back."""


class UnknownRunError(NotFoundError):
    """No score run is stored with the requested id (or for the requested scope)."""


class FeatureQueryError(InvalidInputError):
    """A request parameter a collection cannot answer (bad bbox, unknown property…)."""


class UnknownFeatureError(NotFoundError):
    """The collection has no feature with the requested id."""


class TileOutsideMatrixError(NotFoundError):
    """The requested tile is not part of the WebMercatorQuad tile matrix set."""


class StoreMissingError(UnavailableError):
    """The embedded store's folder does not exist or cannot be read (moved, deleted, no access).

    The message names no path (it may reach an API client); :attr:`root` holds it.
    """

    def __init__(self, root: Path) -> None:
        super().__init__(
            "almacén embebido no disponible: su carpeta (GEOGAPS_STORE_DIR) no existe o no se "
            "puede leer; cargue los datos con `geogaps load` o revise la carpeta"
        )
        self.root = root
