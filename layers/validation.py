"""Validation rules shared by every loader.

Each rule takes a frame and returns the frame it keeps plus what it did, so the loader can report
read / loaded / rejected counts with reasons. Nothing here touches a file or a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from domain.labels import MISSING
from domain.numbers import format_integer
from layers.constraints import INTEGER_COLUMNS, INTERVALS, numeric_columns, range_of
from layers.errors import LayerError, MissingCRSError
from layers.parsing import pad_cut

STORAGE_CRS = "EPSG:4326"
#: Metric, equal-area CRS used for areas (WGS 84 / NSIDC EASE-Grid 2.0 Global).
EQUAL_AREA_CRS = "EPSG:6933"
#: Column that keeps each row's position in the source file (1-based), for rejection reports.
SOURCE_ROW = "_source_row"


@dataclass
class Rejection:
    """A source row that was not loaded, and why."""

    row: int
    reason: str

    def as_dict(self) -> dict[str, object]:
        """Return the rejection as a JSON-ready mapping."""
        return {"row": self.row, "reason": self.reason}


@dataclass
class ValidationOutcome:
    """What the validation rules did to one dataset."""

    rejections: list[Rejection] = field(default_factory=list)
    repaired_geometries: int = 0
    duplicates_removed: int = 0
    outside_declared_commune: int = 0
    reprojected_from: str | None = None
    notes: list[str] = field(default_factory=list)

    def reject(self, frame: pd.DataFrame, mask: pd.Series, reason: str) -> pd.DataFrame:
        """Record the rows under ``mask`` as rejected with ``reason`` and return the others."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            # Most checks reject nothing: skip selecting (copying) every row again.
            return frame
        rows = frame.loc[mask, SOURCE_ROW] if SOURCE_ROW in frame else frame.index[mask]
        self.rejections.extend(Rejection(int(row), reason) for row in rows)
        return frame.loc[~mask]

    def reject_each(self, frame: pd.DataFrame, mask: pd.Series, reasons: pd.Series) -> pd.DataFrame:
        """Like :meth:`reject`, with a reason of its own for each row (``reasons``, same index)."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return frame
        rows = frame.loc[mask, SOURCE_ROW] if SOURCE_ROW in frame else frame.index[mask]
        self.rejections.extend(
            Rejection(int(row), str(reason))
            for row, reason in zip(rows, reasons[mask], strict=True)
        )
        return frame.loc[~mask]


def row_label(row: int, path_name: str) -> str:
    """Where source row ``row`` (1-based, header excluded) is, as the user sees the file.

    A CSV's first data row is its line 2; other files number their features from 1.
    """
    return f"línea {row + 1}" if path_name.lower().endswith(".csv") else f"elemento {row}"


#: Boxes (west, south, east, north, in degrees) that hold every Chilean place: the mainland
#: with Chiloé, the southern islands, Juan Fernández and the Desventuradas; Isla de Pascua
#: with Salas y Gómez; and the Chilean Antarctic Territory.
CHILE_EXTENT: dict[str, tuple[float, float, float, float]] = {
    "Chile continental e islas cercanas": (-81.5, -57.0, -66.0, -17.4),
    "Isla de Pascua y Salas y Gómez": (-109.6, -27.4, -105.2, -26.3),
    "Territorio Chileno Antártico": (-90.0, -90.0, -53.0, -60.0),
}
#: Share of a file's geometries that may lie outside Chile before the whole file is refused
#: (a few misplaced rows are rejected one by one; a file mostly elsewhere has a wrong CRS).
MOSTLY_OUTSIDE = 0.5
UTM_HINT = (
    "parecen metros UTM y no grados; si el archivo está en UTM 19S repita con --crs EPSG:32719 "
    "(o UTM 18S, --crs EPSG:32718, al oeste de los 72° O)"
)


def parse_crs(text: str) -> CRS:
    """The CRS named by ``--crs``, or a LayerError saying how to write one."""
    try:
        return CRS.from_user_input(text)
    except CRSError:
        raise LayerError(
            f"--crs {text!r} no es un sistema de referencia de coordenadas válido; use un código "
            "EPSG, por ejemplo --crs EPSG:4326 (grados) o --crs EPSG:32719 (UTM 19S, metros)"
        ) from None


def present_bounds(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which rows have a geometry, and the bounds ``(minx, miny, maxx, maxy)`` of those rows."""
    geoms = frame.geometry.array
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return present, shapely.bounds(geoms[present])


def reject_non_finite_coordinates(
    frame: gpd.GeoDataFrame, outcome: ValidationOutcome
) -> gpd.GeoDataFrame:
    """Reject rows whose geometry has an infinite or NaN coordinate."""
    present, bounds = present_bounds(frame)
    if not present.any():
        return frame
    bad = np.zeros(len(frame), dtype=bool)
    bad[present] = ~np.isfinite(bounds).all(axis=1)
    return outcome.reject(
        frame, pd.Series(bad, index=frame.index), "coordenada infinita o no numérica"
    )


def check_degrees(
    frame: gpd.GeoDataFrame, outcome: ValidationOutcome, path_name: str
) -> gpd.GeoDataFrame:
    """Reject coordinates that cannot be degrees; refuse the file when most of them are so.

    RFC 7946 GeoJSON has no ``crs`` member and is always WGS 84 degrees; a GeoJSON exported
    in UTM without saying so arrives here with values in the hundreds of thousands. A few
    impossible rows among good ones are typing errors and are rejected one by one.
    """
    if frame.crs is None or not CRS.from_user_input(frame.crs).is_geographic:
        return frame
    present, bounds = present_bounds(frame)
    if not present.any():
        return frame
    xs, ys = bounds[:, [0, 2]], bounds[:, [1, 3]]
    outside = (np.abs(xs) > 180).any(axis=1) | (np.abs(ys) > 90).any(axis=1)
    if not outside.any():
        return frame
    if outside.sum() > MOSTLY_OUTSIDE * len(outside):
        first = bounds[outside][0]
        metres = (100_000 <= abs(first[0]) <= 900_000) and (
            1_000_000 <= abs(first[1]) <= 10_000_000
        )
        hint = UTM_HINT if metres else "revise el sistema de coordenadas del archivo o use --crs"
        raise LayerError(
            f"{path_name}: {int(outside.sum())} de {len(outside)} geometrías tienen coordenadas "
            f"que no son longitudes y latitudes (por ejemplo x = {first[0]:.0f}, "
            f"y = {first[1]:.0f}); {hint}"
        )
    mask = np.zeros(len(frame), dtype=bool)
    mask[present] = outside
    return outcome.reject(
        frame,
        pd.Series(mask, index=frame.index),
        "coordenadas imposibles en grados (longitud fuera de ±180 o latitud fuera de ±90)",
    )


def in_boxes(bounds: np.ndarray, boxes: Iterable[tuple[float, float, float, float]]) -> np.ndarray:
    """Whether each row of ``bounds`` (minx, miny, maxx, maxy) lies wholly in one of ``boxes``."""
    inside = np.zeros(len(bounds), dtype=bool)
    for west, south, east, north in boxes:
        inside |= (
            (bounds[:, 0] >= west)
            & (bounds[:, 2] <= east)
            & (bounds[:, 1] >= south)
            & (bounds[:, 3] <= north)
        )
    return inside


#: The inhabited boxes of CHILE_EXTENT: a swapped Magallanes point lands in the Antarctic box.
_INHABITED = [box for name, box in CHILE_EXTENT.items() if "Antártico" not in name]
_ANTARCTIC = [box for name, box in CHILE_EXTENT.items() if "Antártico" in name]
SWAPPED_REASON = (
    "latitud y longitud invertidas: tal como vienen quedan fuera de Chile o en la Antártica, "
    "leídas al revés caen en Chile"
)


def reject_outside_chile(
    frame: gpd.GeoDataFrame, outcome: ValidationOutcome, path_name: str
) -> gpd.GeoDataFrame:
    """Reject geometries (in EPSG:4326) outside Chile; refuse the file if most are outside.

    A geometry outside Chile, or in the Antarctic box, whose coordinates read the other way round
    fall in inhabited Chile has its latitude and longitude swapped: it is rejected saying so, and
    a file where most are swapped is refused with that hint (a Punta Arenas point swapped lands
    in the Antarctic box, which would otherwise accept it).
    """
    present, bounds = present_bounds(frame)
    if not present.any():
        return frame
    inside = in_boxes(bounds, CHILE_EXTENT.values())
    swapped = (~inside | in_boxes(bounds, _ANTARCTIC)) & in_boxes(
        bounds[:, [1, 0, 3, 2]], _INHABITED
    )
    if swapped.sum() > MOSTLY_OUTSIDE * len(inside):
        example = bounds[swapped][0]
        raise LayerError(
            f"{path_name}: {int(swapped.sum())} de {len(inside)} geometrías tienen latitud y "
            f"longitud invertidas (por ejemplo lon {example[0]:.4f}, lat {example[1]:.4f}, que "
            "leídas al revés caen en Chile); revise qué columna es la latitud y cuál la "
            "longitud (en GeoJSON y WKT el orden es longitud, latitud)"
        )
    if inside.all() and not swapped.any():
        return frame
    if (~inside).sum() > MOSTLY_OUTSIDE * len(inside):
        example = bounds[~inside][0]
        source = outcome.reprojected_from or STORAGE_CRS
        raise LayerError(
            f"{path_name}: {int((~inside).sum())} de {len(inside)} geometrías quedan fuera de "
            f"Chile (por ejemplo lon {example[0]:.4f}, lat {example[1]:.4f}, leídas en "
            f"{source}); revise que el sistema de coordenadas sea el correcto o indíquelo con "
            "--crs (EPSG:4326 para grados, EPSG:32719 para UTM 19S)"
        )
    reasons = np.full(len(frame), "", dtype=object)
    reasons[np.flatnonzero(present)[~inside]] = "coordenadas fuera de Chile"
    reasons[np.flatnonzero(present)[swapped]] = SWAPPED_REASON
    reason_series = pd.Series(reasons, index=frame.index)
    return outcome.reject_each(frame, reason_series != "", reason_series)


_DIMENSION_NAMES = {0: "puntos", 1: "líneas", 2: "polígonos"}
_KIND_DIMENSIONS = {"POINT": 0, "MULTILINESTRING": 1, "MULTIPOLYGON": 2}


def check_geometry_kind(
    frame: gpd.GeoDataFrame, geometry_type: str, kind_name: str, path_name: str
) -> None:
    """Refuse a file none of whose geometries has the dimension its kind stores.

    A points file loaded as ``--kind communes`` would otherwise lose every row to coercion.
    """
    geoms = frame.geometry.array
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(present) == 0:
        return
    dimensions = shapely.get_dimensions(present)
    expected = _KIND_DIMENSIONS[geometry_type]
    if (dimensions == expected).any():
        return
    found = _DIMENSION_NAMES.get(int(np.bincount(dimensions).argmax()), "geometrías")
    raise LayerError(
        f"{path_name}: el archivo tiene {found} pero el tipo {kind_name!r} guarda "
        f"{_DIMENSION_NAMES[expected]}; revise --kind"
    )


def reject_out_of_range(
    frame: pd.DataFrame, table_name: str, outcome: ValidationOutcome
) -> pd.DataFrame:
    """Reject rows whose numbers are infinite or outside their column's documented range.

    The ranges are those of :mod:`layers.constraints`, which both stores enforce too.
    """
    for column in numeric_columns(table_name):
        if column not in frame:
            continue
        values = pd.to_numeric(frame[column], errors="coerce").astype(float)
        low, high = range_of(table_name, column)
        infinite = np.isinf(values.to_numpy())
        if infinite.any():
            frame = outcome.reject(
                frame, pd.Series(infinite, index=values.index), f"{column} no es un número finito"
            )
            values = values[~infinite]
        # Compared on the array (NaN compares False): nothing is built for a clean column.
        numbers = values.to_numpy()
        outside = (numbers < low) | (numbers > high)
        if outside.any():
            frame = outcome.reject(
                frame,
                pd.Series(outside, index=values.index),
                f"{column} fuera del rango permitido [{low:g}, {high:g}]",
            )
    return frame


def reject_fractional_counts(
    frame: pd.DataFrame, table_name: str, outcome: ValidationOutcome
) -> pd.DataFrame:
    """Reject rows whose whole-number counts have a fractional part (3.5 APR connections).

    The columns are :data:`layers.constraints.INTEGER_COLUMNS`; each reason names the column
    and the value, so the source row can be corrected.
    """
    for column in INTEGER_COLUMNS.get(table_name, ()):
        if column not in frame:
            continue
        values = pd.to_numeric(frame[column], errors="coerce").astype(float)
        finite = np.isfinite(values.to_numpy())
        fractional = pd.Series(finite, index=values.index) & (values != np.floor(values))
        if not fractional.any():
            continue
        reasons = values[fractional].map(
            lambda value, column=column: f"{column} = {float(value)!r} no es un número entero"
        )
        frame = outcome.reject_each(frame, fractional, reasons.reindex(frame.index))
    return frame


def reject_broken_intervals(
    frame: pd.DataFrame, table_name: str, outcome: ValidationOutcome, path_name: str
) -> pd.DataFrame:
    """Reject rows whose interval does not hold lower ≤ estimate ≤ upper; refuse most broken.

    The intervals are those of :data:`layers.constraints.INTERVALS`, checked after each column's
    range (so all three already lie in [0, 1]). A missing bound is not checked. When more than
    half of the rows with a bound break the order, the columns are swapped or mislabelled and
    the whole file is refused.
    """
    for lower, estimate, upper in INTERVALS.get(table_name, ()):
        if not {lower, estimate, upper} <= set(frame.columns):
            continue
        low, value, high = (frame[c].astype(float) for c in (lower, estimate, upper))
        broken = (low > value) | (value > high) | (low > high)
        if not broken.any():
            continue
        bounded = value.notna() & (low.notna() | high.notna())
        reasons = pd.Series(
            [
                f"no se cumple {lower} ≤ {estimate} ≤ {upper} "
                f"({' ≤ '.join(_number_or_missing(v) for v in (a, b, c))})"
                for a, b, c in zip(low, value, high, strict=True)
            ],
            index=frame.index,
        )
        if broken.sum() > MOSTLY_OUTSIDE * bounded.sum():
            first = broken[broken].index[0]
            raise LayerError(
                f"{path_name}: {int(broken.sum())} de {int(bounded.sum())} filas con intervalo "
                f"no cumplen {lower} ≤ {estimate} ≤ {upper} (por ejemplo "
                f"{row_label(int(frame[SOURCE_ROW][first]), path_name)}: "
                f"{reasons[first].split('(')[-1].rstrip(')')}); revise si las columnas del límite "
                "inferior y superior están intercambiadas o son de otra variable"
            )
        frame = outcome.reject_each(frame, broken, reasons)
    return frame


def _number_or_missing(value: float) -> str:
    return MISSING if np.isnan(value) else f"{value:.4g}"


def ensure_storage_crs(
    frame: gpd.GeoDataFrame,
    declared: str | None,
    outcome: ValidationOutcome,
    path_name: str = "el archivo",
) -> gpd.GeoDataFrame:
    """Reproject ``frame`` to EPSG:4326 from the CRS the file declares or the one given.

    Raises
    ------
    MissingCRSError
        If the file declares no CRS and ``declared`` is None: guessing degrees or UTM metres
        would silently misplace every feature.
    """
    if declared is not None:
        given = parse_crs(declared)
        if frame.crs is not None and not CRS.from_user_input(frame.crs).equals(given):
            outcome.notes.append(
                f"el CRS {frame.crs.to_string()} del archivo se reemplazó por {declared}"
            )
        frame = frame.set_crs(given, allow_override=True)
    if frame.crs is None:
        raise MissingCRSError(
            "el archivo no declara su sistema de referencia de coordenadas; indíquelo con --crs "
            "(por ejemplo --crs EPSG:4326 para grados o --crs EPSG:32719 para UTM 19S en metros)"
        )
    frame = check_degrees(frame, outcome, path_name)
    if not CRS.from_user_input(frame.crs).equals(CRS.from_user_input(STORAGE_CRS)):
        outcome.reprojected_from = CRS.from_user_input(frame.crs).to_string()
        frame = check_transform(frame.to_crs(STORAGE_CRS), outcome.reprojected_from, path_name)
    return frame


def check_transform(frame: gpd.GeoDataFrame, source: str, path_name: str) -> gpd.GeoDataFrame:
    """Refuse a reprojection that broke the data: non-finite results, or a centre out of Chile.

    A CRS with an absurd datum shift (``+towgs84=1e308,…``) or the wrong zone is valid to PROJ
    and moves every point; the median of the geometries' centres (robust to a few strays and to
    data split between the mainland and the islands) must still fall in Chile.
    """
    present, bounds = present_bounds(frame)
    if not present.any():
        return frame
    finite = np.isfinite(bounds).all(axis=1)
    if not finite.all():
        raise LayerError(
            f"{path_name}: la transformación desde {source} da coordenadas infinitas o no "
            f"numéricas en {int((~finite).sum())} de {len(finite)} geometrías; revise --crs "
            "(un parámetro +towgs84 o una zona absurdos) o use un código EPSG"
        )
    lon = float(np.median((bounds[:, 0] + bounds[:, 2]) / 2))
    lat = float(np.median((bounds[:, 1] + bounds[:, 3]) / 2))
    if not in_boxes(np.array([[lon, lat, lon, lat]]), CHILE_EXTENT.values()).any():
        raise LayerError(
            f"{path_name}: reproyectado desde {source}, el centro de los datos queda en lon "
            f"{lon:.4f}, lat {lat:.4f}, fuera de Chile; el sistema de coordenadas indicado no es "
            "el del archivo: revise --crs (EPSG:4326 para grados, EPSG:32719 para UTM 19S)"
        )
    return frame


def repair_geometries(
    frame: gpd.GeoDataFrame,
    geometry_type: str,
    outcome: ValidationOutcome,
    allow_missing: bool = False,
) -> gpd.GeoDataFrame:
    """Repair invalid geometries with ``make_valid`` and coerce them to the table's type.

    Polygons become MultiPolygons and lines MultiLineStrings; a repair that leaves a collection
    keeps only the parts of the table's dimension. Rows whose geometry is missing or empty after
    repair are rejected unless ``allow_missing`` (projects known only by commune).
    """
    geoms = frame.geometry.array
    present = ~(frame.geometry.isna() | frame.geometry.is_empty)
    invalid = present & ~frame.geometry.is_valid
    outcome.repaired_geometries += int(invalid.sum())
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid.to_numpy()] = shapely.make_valid(geoms[invalid.to_numpy()])
    # Only rows not already of the table's type need coercing (usually none).
    wrong_type = shapely.get_type_id(geoms) != _TYPE_IDS[geometry_type]
    if wrong_type.any():
        geoms = geoms.copy()
        geoms[wrong_type] = [_coerce(geom, geometry_type) for geom in geoms[wrong_type]]
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    missing = frame.geometry.isna() | frame.geometry.is_empty
    if allow_missing:
        frame.loc[missing, frame.geometry.name] = None
        return frame
    return outcome.reject(
        frame, missing, f"sin geometría utilizable ({GEOMETRY_WORDS[geometry_type]})"
    )


_TYPE_IDS = {"POINT": 0, "MULTILINESTRING": 5, "MULTIPOLYGON": 6}
#: The geometry types of the tables, as a rejection reason names them.
GEOMETRY_WORDS = {
    "POINT": "punto",
    "MULTILINESTRING": "multilínea",
    "MULTIPOLYGON": "multipolígono",
}


def _coerce(geom: shapely.Geometry | None, geometry_type: str) -> shapely.Geometry | None:
    if geom is None or geom.is_empty:
        return None
    parts_of = {"MULTIPOLYGON": 2, "MULTILINESTRING": 1, "POINT": 0}
    dimension = parts_of[geometry_type]
    if geometry_type == "POINT":
        return geom if geom.geom_type == "Point" else None
    parts = [part for part in shapely.get_parts(geom) if shapely.get_dimensions(part) == dimension]
    if geom.geom_type == "GeometryCollection":
        parts = [
            sub
            for part in shapely.get_parts(geom)
            for sub in shapely.get_parts(part)
            if shapely.get_dimensions(sub) == dimension
        ]
    if not parts:
        return None
    if dimension == 2:
        return shapely.MultiPolygon(
            [p for part in parts for p in shapely.get_parts(part) if p.geom_type == "Polygon"]
        )
    return shapely.MultiLineString(
        [p for part in parts for p in shapely.get_parts(part) if p.geom_type == "LineString"]
    )


def normalise_cuts(frame: pd.DataFrame, outcome: ValidationOutcome) -> pd.DataFrame:
    """Pad integer CUT codes to five digits; reject rows whose code is not a commune code."""
    codes = frame["cut"]
    # Thousands of rows share a few hundred codes: pad each distinct code once.
    padded = codes.map({code: pad_cut(code) for code in codes.dropna().unique()})
    frame = frame.assign(cut=padded)
    return outcome.reject(frame, padded.isna(), "falta el código comunal (CUT) o está mal escrito")


def reject_unknown_cuts(
    frame: pd.DataFrame, known_cuts: Iterable[str], outcome: ValidationOutcome
) -> pd.DataFrame:
    """Reject rows whose CUT is not in the official commune list, naming the code."""
    known = set(known_cuts)
    unknown = ~frame["cut"].isin(known)
    for code in sorted(frame.loc[unknown, "cut"].unique()):
        mask = frame["cut"] == code
        frame = outcome.reject(frame, mask, f"código comunal (CUT) desconocido: {code}")
    return frame


def drop_exact_duplicates(frame: pd.DataFrame, outcome: ValidationOutcome) -> pd.DataFrame:
    """Drop rows identical to an earlier row in every attribute and in geometry."""
    compare = frame.drop(columns=[SOURCE_ROW], errors="ignore")
    if isinstance(frame, gpd.GeoDataFrame):
        name = frame.geometry.name
        compare = pd.DataFrame(compare.drop(columns=[name]))
        # Only rows whose attributes repeat can be duplicates: their geometries alone are
        # written out to compare (the thousands of others never are).
        candidates = compare.duplicated(keep=False).to_numpy()
        geometry = shapely.to_wkb(frame.geometry.array[candidates])
        duplicated = np.zeros(len(frame), dtype=bool)
        duplicated[candidates] = (
            compare.loc[candidates].assign(**{name: geometry}).duplicated(keep="first").to_numpy()
        )
    else:
        duplicated = compare.duplicated(keep="first").to_numpy()
    outcome.duplicates_removed += int(duplicated.sum())
    return frame.loc[~duplicated]


INT32_RANGE = (-(2**31), 2**31 - 1)


def reject_out_of_integer_range(
    frame: pd.DataFrame, columns: Iterable[str], outcome: ValidationOutcome
) -> pd.DataFrame:
    """Reject rows whose whole-number counts do not fit a 32-bit integer column.

    A count of dwellings beyond two billion is a typing error in the source; storing it would
    either fail the whole load or, worse, wrap around silently.
    """
    low, high = INT32_RANGE
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        outside = values.notna() & ((values < low) | (values > high))
        for value in sorted(values[outside].unique()):
            mask = values == value
            frame = outcome.reject(
                frame, mask, f"{column} = {format_integer(value)} excede el rango de los enteros"
            )
            values = values[~mask]
    return frame


def refuse_conflicting_keys(frame: pd.DataFrame, key: list[str], path_name: str) -> None:
    """Refuse a file that gives one key two different rows, naming the key and the rows.

    Exact duplicates were dropped before (and counted in the report); what is left repeating
    a key says two different things about one fact, and geogaps cannot know which is right.
    """
    if not key or frame.empty:
        return
    repeated = frame[frame.duplicated(subset=key, keep=False)]
    if repeated.empty:
        return
    groups = list(repeated.groupby(key, sort=False, dropna=False))
    examples = []
    for value, rows in groups[:3]:
        values = value if isinstance(value, tuple) else (value,)
        where = [row_label(int(row), path_name) for row in rows.get(SOURCE_ROW, rows.index)]
        examples.append(f"{' / '.join(map(str, values))} en {', '.join(where)}")
    more = f" (y {len(groups) - 3} claves más)" if len(groups) > 3 else ""
    repeated_keys = "1 valor" if len(groups) == 1 else f"{len(groups)} valores"
    repeat = "se repite" if len(groups) == 1 else "se repiten"
    raise LayerError(
        f"{path_name}: {repeated_keys} de la clave ({', '.join(key)}) {repeat} con datos "
        f"distintos: {'; '.join(examples)}{more}; un archivo da un solo valor por clave y no se "
        "puede saber cuál es el correcto: corrija el archivo (no se cambió nada)"
    )


def area_km2(polygons: gpd.GeoSeries) -> pd.Series:
    """Area of each polygon in km², computed in an equal-area metric CRS."""
    areas: pd.Series = polygons.to_crs(EQUAL_AREA_CRS).area / 1e6
    return areas
