"""One reader per source layout, registered by the kind of data it loads.

Each reader maps a raw file (already opened by :mod:`layers.readers.files`) to the columns of
one table of :mod:`layers.schema`; readers are grouped by family of sources (``territory``,
``water``, ``services``, ``social``, ``projects``, ``demo``) and registered in ``kinds``.
Column names are matched case- and accent-insensitively (:mod:`layers.readers.columns`)
against the synonyms of the known publishers (INE, MINSAL-DEIS, SUBDERE-SINIM, MDSF, MINVU,
ODEPA, MOP-DOH), so the same reader takes the national MOP-DOH APR schema, the Petorca layer
and any GeoJSON / GeoPackage / Shapefile / CSV that uses one of those names.
"""

from layers.readers.context import ReadContext
from layers.readers.kinds import KINDS, Kind, UnknownKindError, kind_named

__all__ = ["KINDS", "Kind", "ReadContext", "UnknownKindError", "kind_named"]
