"""Filtered reads shared by both stores: what a request asks for, checked against allow-lists.

A :class:`ReadRequest` is built once from the arguments of :meth:`layers.stores.base.Store.read`
and validated here, so PostGIS (one parameterised SQL query) and the embedded store (pyarrow
filters) answer exactly the same question. Identifiers (tables, columns, order) only ever come
from the SQLAlchemy models; values travel as bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from domain.errors import InvalidInputError
from domain.regions import CUT_PATTERN, is_region_code
from layers.tables import row_order, stored_columns, table_named

_CUT = re.compile(CUT_PATTERN)

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class ReadRequest:
    """A validated filtered read of one table.

    Attributes
    ----------
    table : str
        Table name (one of the models').
    columns : list of str
        Columns to return, in order.
    region : str or None
        Two-digit region code: rows whose CUT starts with it.
    cuts : tuple of str or None
        Only these communes.
    bbox : tuple or None
        ``(min_lon, min_lat, max_lon, max_lat)`` in EPSG:4326: rows whose geometry intersects it.
    equals : dict
        Extra equality filters ``column -> value`` (e.g. ``run_id``, ``challenge``).
    order : list of str
        Columns to sort by; a leading ``-`` sorts descending.
    limit, offset : int or None
        Page of rows after sorting.
    """

    table: str
    columns: list[str]
    region: str | None
    cuts: tuple[str, ...] | None
    bbox: BBox | None
    equals: dict[str, object]
    order: list[str]
    limit: int | None
    offset: int | None

    @property
    def cut_range(self) -> tuple[str, str] | None:
        """``[low, high)`` CUT bounds of the region: a range any btree index on ``cut`` serves."""
        if self.region is None:
            return None
        return self.region + "000", f"{int(self.region) + 1:02d}000"

    @property
    def order_pairs(self) -> list[tuple[str, bool]]:
        """``(column, descending)`` pairs of the sort."""
        return [(name.lstrip("-"), name.startswith("-")) for name in self.order]


def read_request(
    table: str,
    *,
    region: str | None = None,
    cuts: Iterable[str] | None = None,
    bbox: Sequence[float] | None = None,
    columns: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
    order: Sequence[str] | None = None,
    equals: dict[str, object] | None = None,
) -> ReadRequest:
    """Validate the arguments of a filtered read.

    Raises
    ------
    domain.errors.InvalidInputError
        Naming what is wrong: a column, region, CUT, bbox, filter, order or page.
    domain.errors.NotFoundError
        An unknown table.
    """
    model = table_named(table)
    known = stored_columns(table)
    names = list(columns) if columns else known
    unknown = [c for c in names if c not in known]
    if unknown:
        raise InvalidInputError(f"{table}: columnas desconocidas: {', '.join(unknown)}")
    if region is not None and not is_region_code(region):
        raise InvalidInputError(
            f"la región debe ser un código de dos dígitos de 01 a 16, no {region!r}"
        )
    cut_tuple = None
    if cuts is not None:
        cut_tuple = tuple(dict.fromkeys(cuts))
        bad = [c for c in cut_tuple if not _CUT.match(str(c))]
        if bad:
            raise InvalidInputError(f"no son códigos de comuna (CUT): {', '.join(map(str, bad))}")
    if (region is not None or cuts is not None) and "cut" not in model.c:
        raise InvalidInputError(f"{table} no tiene código comunal para filtrar por región o CUT")
    box: BBox | None = None
    if bbox is not None:
        if "geom" not in model.c:
            raise InvalidInputError(f"{table} no tiene geometría para filtrar por bbox")
        values = [float(v) for v in bbox]
        if len(values) != 4 or values[0] > values[2] or values[1] > values[3]:
            raise InvalidInputError("bbox debe ser min_lon,min_lat,max_lon,max_lat")
        box = (values[0], values[1], values[2], values[3])
    filters = dict(equals or {})
    for name in filters:
        if name not in model.c:
            raise InvalidInputError(f"{table}: columna desconocida {name!r}")
    sort = list(order) if order else row_order(table)
    for name in sort:
        if name.lstrip("-") not in known and name.lstrip("-") != "id":
            raise InvalidInputError(f"{table}: no se puede ordenar por {name!r}")
    for number, label in ((limit, "limit"), (offset, "offset")):
        if number is not None and number < 0:
            raise InvalidInputError(f"{label} no puede ser negativo")
    return ReadRequest(
        table=table,
        columns=names,
        region=region,
        cuts=cut_tuple,
        bbox=box,
        equals=filters,
        order=sort,
        limit=limit,
        offset=offset,
    )
