"""Opening vector and tabular files of any layout the loaders accept."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from domain.text import fold
from layers.errors import LayerError, SchemaError, TruncatedFileError
from layers.parsing import parse_number_column
from layers.validation import SOURCE_ROW

logger = logging.getLogger("geogaps.layers")

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".parquet"}
LATITUDE_NAMES = ("latitude", "latitud", "lat", "y_wgs84")
LONGITUDE_NAMES = ("longitude", "longitud", "lon", "lng", "long", "x_wgs84")
EASTING_NAMES = ("utm_este", "este", "easting", "utm_e", "x_utm", "coord_x", "x")
NORTHING_NAMES = ("utm_norte", "norte", "northing", "utm_n", "y_utm", "coord_y", "y")
UTM19S = "EPSG:32719"


def sha256_of(path: Path) -> str:
    """Return the sha256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_column(frame: pd.DataFrame, candidates: tuple[str, ...]) -> str | None:
    """Return the first column of ``frame`` whose folded name matches a candidate."""
    folded = {fold(column): column for column in frame.columns}
    for candidate in candidates:
        if fold(candidate) in folded:
            return folded[fold(candidate)]
    return None


def require_columns(
    frame: pd.DataFrame, mapping: dict[str, tuple[str, ...]], path: Path
) -> dict[str, str]:
    """Map target names to source columns; raise a SchemaError naming what is missing."""
    found = {target: find_column(frame, names) for target, names in mapping.items()}
    missing = [
        f"{target} (una de {', '.join(mapping[target])})"
        for target, column in found.items()
        if column is None
    ]
    if missing:
        found_columns = [str(c) for c in frame.columns if c != SOURCE_ROW]
        raise SchemaError(
            f"{path.name}: faltan las columnas {'; '.join(missing)} (columnas encontradas: "
            f"{', '.join(found_columns) or 'ninguna'}); revise que --kind corresponda al archivo"
        )
    return {target: column for target, column in found.items() if column is not None}


_CSV_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
#: pandas' words for a file that ends inside a quoted field.
_CSV_OPEN_QUOTE = re.compile(r"EOF inside string")
#: GDAL's words for a GeoJSON document that stops before it closes.
_JSON_UNTERMINATED = re.compile(r"At line (\d+), character \d+: Unterminated", re.IGNORECASE)


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV as text columns, sniffing the delimiter and the encoding.

    UTF-8 (with or without BOM), UTF-16 with BOM and Latin-1 (Excel's "CSV" on Windows) are
    read; an empty, binary or ragged file is a :class:`LayerError` naming the line to fix, and a
    file cut mid-row (see :func:`refuse_cut_last_row`) or inside a quoted field is a
    :class:`TruncatedFileError`.
    """
    raw = path.read_bytes()
    if not raw.strip():
        raise LayerError(
            f"{path.name}: el archivo está vacío ({len(raw)} bytes); exporte de nuevo los datos "
            "con su fila de encabezado"
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    if "\x00" in text:
        raise LayerError(
            f"{path.name}: no es un archivo de texto CSV (tiene bytes binarios); guárdelo como "
            "CSV UTF-8 desde la planilla"
        )
    sample = text[:20_000]
    # Whole lines only: a cut last line would make the sniffer doubt the delimiter.
    sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise LayerError(
            f"{path.name}: el archivo no tiene encabezado ni filas; exporte de nuevo los datos"
        ) from None
    except pd.errors.ParserError as error:
        if _CSV_OPEN_QUOTE.search(str(error)):
            # The quote left open is the file's last one (pandas counts records, not lines).
            line = text.count("\n", 0, text.rfind('"')) + 1
            raise TruncatedFileError(
                f"{path.name}: el archivo está cortado: termina dentro de un campo entre comillas "
                f"abierto en la línea {line}; exporte de nuevo el archivo completo (o cierre esas "
                "comillas)"
            ) from None
        fields = _CSV_FIELDS.search(str(error))
        where = (
            f"la línea {fields.group(2)} tiene {fields.group(3)} campos y el encabezado "
            f"{fields.group(1)}"
            if fields
            else "no se puede separar en columnas"
        )
        raise LayerError(
            f"{path.name}: {where}; revise los separadores ({delimiter!r}) y las comillas de esa "
            "línea"
        ) from None
    refuse_cut_last_row(text, delimiter, len(frame.columns), path.name)
    frame = frame.replace({"": None})
    frame.insert(0, SOURCE_ROW, range(1, len(frame) + 1))
    return frame


def refuse_cut_last_row(text: str, delimiter: str, header_fields: int, name: str) -> None:
    """Refuse a CSV whose last row has no line end and fewer fields than the header.

    That is how a file cut at a byte count looks (a download or a copy that stopped): pandas
    would fill the missing fields with nothing and load the half row. Only the last record is
    parsed, so the check costs nothing on big files.
    """
    if not text or text.endswith(("\n", "\r")):
        return
    start = text.rfind("\n") + 1
    if text.count('"', start) % 2:
        # The last line closes a quoted field opened on an earlier line: start from there.
        start = text.rfind("\n", 0, max(text.rfind('"', 0, start), 0)) + 1
    last = text[start:]
    if not last.strip():
        return
    fields = len(next(csv.reader(io.StringIO(last), delimiter=delimiter), []))
    if fields < header_fields:
        line = text.count("\n", 0, start) + 1
        raise TruncatedFileError(
            f"{name}: el archivo está cortado: la última línea ({line}) no termina en salto de "
            f"línea y tiene {fields} de los {header_fields} campos del encabezado; exporte de "
            "nuevo el archivo completo"
        )


def read_vector(
    path: Path, layer: str | None = None, *, points_optional: bool = False
) -> gpd.GeoDataFrame:
    """Read a vector file, or a CSV whose points are in lat/lon or UTM 19S columns.

    The CRS is the one the file declares (GeoJSON without ``crs`` is EPSG:4326 by RFC 7946); a
    CSV with lat/lon columns is EPSG:4326 and one with UTM columns EPSG:32719. Shapefiles without
    a ``.prj`` come back with no CRS, which the loader refuses unless one is given. A CSV without
    coordinate columns is refused unless ``points_optional`` (then every row has no geometry).
    """
    if not path.exists():
        raise LayerError(f"no se encontró el archivo {path}; revise la ruta")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return points_from_csv(read_csv(path), path, optional=points_optional)
    if suffix not in VECTOR_SUFFIXES:
        raise LayerError(
            f"{path.name}: el tipo de archivo {path.suffix!r} no se puede cargar; use GeoJSON, "
            "GeoPackage, Shapefile, FlatGeobuf, GeoParquet o CSV"
        )
    if path.stat().st_size == 0:
        raise LayerError(f"{path.name}: el archivo está vacío (0 bytes); expórtelo de nuevo")
    if suffix == ".shp":
        _require_shapefile_parts(path)
    if suffix == ".gpkg" and layer is None:
        layer = _only_layer(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if suffix == ".parquet":
                frame = gpd.read_parquet(path)
            else:
                frame = gpd.read_file(path, layer=layer, engine="pyogrio", use_arrow=True)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.FieldError,
        ValueError,
        OSError,
    ) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        unterminated = _JSON_UNTERMINATED.search(detail)
        if unterminated:
            raise TruncatedFileError(
                f"{path.name}: el archivo está cortado: el JSON termina sin cerrarse (línea "
                f"{unterminated.group(1)}); exporte de nuevo el archivo completo"
            ) from None
        # The library's words (GDAL's SQL, internal paths) are logged, never shown: they say
        # nothing a user can act on and may reach an API client.
        logger.info("%s: lectura vectorial fallida: %s", path.name, detail)
        raise LayerError(
            f"{path.name}: no se puede leer como archivo vectorial (GeoJSON, GeoPackage, "
            "Shapefile o GeoParquet); ¿está truncado o dañado? Expórtelo de nuevo"
        ) from None
    frame = frame.reset_index(drop=True)
    if frame.geometry.name in frame and len(frame):
        # Z or M values are not stored; 2D keeps every table's geometry type exact.
        frame = frame.set_geometry(
            gpd.GeoSeries(shapely.force_2d(frame.geometry.array), index=frame.index, crs=frame.crs)
        )
    frame.insert(0, SOURCE_ROW, range(1, len(frame) + 1))
    return frame


SHAPEFILE_PARTS = (".shx", ".dbf")


def _require_shapefile_parts(path: Path) -> None:
    """Refuse a ``.shp`` whose companion files are missing, naming them."""
    present = {p.suffix.lower() for p in path.parent.glob(f"{path.stem}.*")}
    missing = [suffix for suffix in SHAPEFILE_PARTS if suffix not in present]
    if missing:
        raise LayerError(
            f"{path.name}: faltan {' y '.join(path.stem + m for m in missing)} junto al .shp; "
            "un Shapefile son varios archivos (.shp, .shx, .dbf y .prj): cópielos todos a la "
            "misma carpeta"
        )


def _only_layer(path: Path) -> str | None:
    """The one layer of a GeoPackage; a LayerError listing them when there are several."""
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, OSError):
        return None  # read_file reports the unreadable file
    if len(layers) > 1:
        raise LayerError(
            f"{path.name}: el GeoPackage tiene {len(layers)} capas ({', '.join(layers)}); "
            "elija una con --layer"
        )
    return layers[0] if layers else None


def points_from_csv(frame: pd.DataFrame, path: Path, *, optional: bool = False) -> gpd.GeoDataFrame:
    """Build points from lat/lon (EPSG:4326) or UTM 19S (EPSG:32719) columns.

    Rows without coordinates keep an empty geometry; the loader decides whether that is allowed.
    A file without coordinate columns is a :class:`SchemaError`, unless ``optional`` (a kind
    whose rows may have no point, like projects located by commune): then no row has one.
    """
    lat, lon = find_column(frame, LATITUDE_NAMES), find_column(frame, LONGITUDE_NAMES)
    east, north = find_column(frame, EASTING_NAMES), find_column(frame, NORTHING_NAMES)
    if lat and lon:
        x, y, crs = _degrees(frame[lon]), _degrees(frame[lat]), "EPSG:4326"
    elif east and north:
        x, y, crs = parse_number_column(frame[east]), parse_number_column(frame[north]), UTM19S
    elif optional:
        return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs="EPSG:4326")
    else:
        raise SchemaError(
            f"{path.name}: no tiene columnas de coordenadas; un CSV de puntos necesita "
            "latitud/longitud (EPSG:4326) o utm_este/utm_norte (UTM 19S, EPSG:32719)"
        )
    geometry = gpd.points_from_xy(x, y)
    geometry[(x.isna() | y.isna()).to_numpy()] = None
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)


def _degrees(series: pd.Series) -> pd.Series:
    """Parse decimal degrees: the dot (or a comma) is always the decimal mark.

    The Chilean-number rule reads ``-33.177`` as a thousands-separated integer; a latitude
    written with three decimals is ``-33.177`` degrees (MINEDUC directory).
    """
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    text = series.astype("string").str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype(float)
