"""What a store's feature source answers: items, single features, tiles and extents."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from layers.features.collections import Collection
from layers.features.requests import FeaturePage, ItemsQuery
from layers.queries import BBox


class FeatureSource(ABC):
    """Answers items, single features, tiles and extents for the collections of one store.

    Each store gives its own through :meth:`layers.stores.base.Store.feature_source`.
    """

    @abstractmethod
    def items(self, collection: Collection, query: ItemsQuery) -> FeaturePage:
        """One page of features matching ``query``, in key order."""

    @abstractmethod
    def item(self, collection: Collection, feature_id: str) -> bytes:
        """One GeoJSON Feature (UTF-8); UnknownFeatureError naming the id otherwise."""

    @abstractmethod
    def tile(self, collection: Collection, z: int, x: int, y: int) -> bytes:
        """The Mapbox vector tile ``z/x/y`` of the collection (one layer named after its id).

        Empty when no feature reaches the tile.
        """

    @abstractmethod
    def extents(self, collections: Iterable[Collection]) -> dict[str, BBox | None]:
        """Lon/lat extent of each collection by id (None when it holds no geometry)."""
