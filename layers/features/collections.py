"""What a served collection is: a table, its key, its geometry and its allow-listed properties.

These are description types only; which collections the service offers (titles, the
challenges whose scores ``comunas`` carries) is decided by
:mod:`geo_service.services.collections`. Every identifier the feature sources write into SQL
comes from these descriptions, checked here against the models.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from sqlalchemy import Boolean, Float, Integer

from layers.errors import FeatureQueryError, UnknownFeatureError
from layers.tables import table_named

PropertyType = Literal["string", "number", "integer", "boolean"]
#: Columns of ``score_results`` a property may take from the newest national run.
SCORE_RESULTS: Final = ("score", "rank", "tier", "tier_label")
#: The property value that is the newest national run's id itself.
RUN_ID: Final = "run_id"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Property:
    """One allow-listed property of a collection, read from its table or from the scores.

    Attributes
    ----------
    name : str
        Name in GeoJSON ``properties`` and in tiles.
    title : str
        Spanish description for the OpenAPI document and TileJSON.
    type : {"string", "number", "integer", "boolean"}
        JSON type of the values.
    column : str or None
        The column of the collection's table holding the value, or None when the value comes
        from the newest national score run.
    challenge : str or None
        With ``result``: the challenge (or composite) whose result this is.
    result : str or None
        A column of ``score_results`` (one of :data:`SCORE_RESULTS`), or :data:`RUN_ID` for
        the run's id (then without a challenge).
    """

    name: str
    title: str
    type: PropertyType
    column: str | None = None
    challenge: str | None = None
    result: str | None = None

    def __post_init__(self) -> None:
        # Names are written into SQL as literals and aliases: only plain identifiers pass.
        if not _NAME.match(self.name):
            raise ValueError(f"property name {self.name!r} is not a plain identifier")
        if (self.column is None) == (self.result is None):
            raise ValueError(f"property {self.name}: give either a column or a run result")
        if self.result is not None and (
            (self.result == RUN_ID) != (self.challenge is None)
            or self.result not in (*SCORE_RESULTS, RUN_ID)
        ):
            raise ValueError(f"property {self.name}: {self.result!r} is not a run result")

    @property
    def from_table(self) -> bool:
        """Whether the value is a column of the collection's table."""
        return self.column is not None

    @property
    def from_scores(self) -> bool:
        """Whether the value is a challenge's result of the newest national run."""
        return self.challenge is not None


@dataclass(frozen=True)
class Collection:
    """A feature collection: one table, optionally filtered by category, with its properties.

    Attributes
    ----------
    id, title, description : str
        Identifier in the URL, Spanish title and description.
    table : str
        Table of :mod:`layers.schema` the features come from.
    key : str
        Column whose value is the feature id (unique within the collection).
    geometry_type : str
        GeoJSON geometry type of the features.
    properties : tuple of Property
        Properties clients may ask for, in output order.
    category : str or None
        Value of ``facilities.category`` the collection keeps, if any.
    with_scores : bool
        Whether the newest national score run is joined in by ``cut`` (communes only).
    """

    id: str
    title: str
    description: str
    table: str
    key: str
    geometry_type: str
    properties: tuple[Property, ...]
    category: str | None = None
    with_scores: bool = False
    _by_name: dict[str, Property] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        columns = table_named(self.table).c
        if self.key not in columns or "geom" not in columns:
            raise ValueError(f"collection {self.id}: table {self.table} lacks its key or geom")
        unknown = [p.column for p in self.properties if p.column and p.column not in columns]
        if unknown:
            raise ValueError(f"collection {self.id}: {self.table} has no column {unknown}")
        if not self.with_scores and any(not p.from_table for p in self.properties):
            raise ValueError(f"collection {self.id}: run results need with_scores")
        if self.with_scores and "cut" not in columns:
            raise ValueError(f"collection {self.id}: scores are joined by cut")
        object.__setattr__(self, "_by_name", {p.name: p for p in self.properties})

    @property
    def polygonal(self) -> bool:
        """Whether the geometries are (multi)polygons, the only ones worth simplifying."""
        return "Polygon" in self.geometry_type

    @property
    def key_is_integer(self) -> bool:
        """Whether feature ids are integers (ids in URLs are then parsed as such)."""
        return isinstance(table_named(self.table).c[self.key].type, Integer)

    def select(self, names: Sequence[str] | None) -> tuple[Property, ...]:
        """The properties named in ``names`` (all when None), in the order asked for.

        Raises
        ------
        FeatureQueryError
            If a name is not a property of the collection; the message lists the valid ones.
        """
        if names is None:
            return self.properties
        unknown = [n for n in names if n not in self._by_name]
        if unknown:
            raise FeatureQueryError(
                f"la colección {self.id!r} no tiene la(s) propiedad(es) "
                f"{', '.join(map(repr, unknown))}; sus propiedades son "
                f"{', '.join(self._by_name)}"
            )
        return tuple(self._by_name[n] for n in dict.fromkeys(names))

    def feature_id(self, raw: str) -> str | int:
        """A feature id from a URL segment, typed like the key column.

        Raises
        ------
        UnknownFeatureError
            If the id cannot be a key of this collection (e.g. text for an integer key).
        """
        if self.key_is_integer:
            try:
                number = int(raw)
            except ValueError:
                raise self.missing(raw) from None
            if not -(2**63) <= number < 2**63:  # beyond bigint: no such row
                raise self.missing(raw)
            return number
        if "\x00" in raw:  # PostgreSQL text cannot hold NUL: no such row
            raise self.missing(raw)
        return raw

    def missing(self, raw: object) -> UnknownFeatureError:
        """The error saying that this collection has no feature ``raw``."""
        return UnknownFeatureError(f"la colección {self.id!r} no tiene el objeto {raw!r}")


def table_properties(table: str, titles: Mapping[str, str]) -> tuple[Property, ...]:
    """Properties read straight from ``table``'s columns (name → title), typed from the model."""
    columns = table_named(table).c
    return tuple(
        Property(name, title, _json_type(columns[name].type), column=name)
        for name, title in titles.items()
    )


def _json_type(column_type: Any) -> PropertyType:
    if isinstance(column_type, Boolean):
        return "boolean"
    if isinstance(column_type, Integer):
        return "integer"
    if isinstance(column_type, Float):
        return "number"
    return "string"
