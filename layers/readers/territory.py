"""Readers of the territory: codes, boundaries, census zones, population, rurality, localities."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from domain.regions import region_of, regions_of
from layers.errors import SchemaError
from layers.parsing import parse_number_column
from layers.readers.columns import Frame, keep_columns, numbers_of, require_number, text_of
from layers.readers.context import ReadContext
from layers.readers.files import find_column, require_columns
from layers.validation import SOURCE_ROW, ValidationOutcome


def territorial_codes(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """SUBDERE code list: commune, province and region codes and names."""
    cols = require_columns(
        frame,
        {
            "cut": ("commune_id", "cut", "codigo_comuna"),
            "name": ("commune_name", "nombre_comuna", "comuna"),
            "province_code": ("province_id", "codigo_provincia"),
            "province_name": ("province_name", "nombre_provincia"),
            "region_code": ("region_id", "codigo_region"),
            "region_name": ("region_name", "nombre_region"),
        },
        path,
    )
    return keep_columns(
        frame,
        {
            "cut": text_of(frame, cols["cut"]),
            "name": text_of(frame, cols["name"]),
            "province_code": text_of(frame, cols["province_code"]).str.zfill(3),
            "province_name": text_of(frame, cols["province_name"]),
            "region_code": text_of(frame, cols["region_code"]).str.zfill(2),
            "region_name": text_of(frame, cols["region_name"]),
        },
    )


def communes(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """Commune boundaries; accented names (INE) and codes derived from the CUT where missing."""
    cols = require_columns(
        frame,
        {
            "cut": ("codigo_comuna", "cut", "cod_comuna", "id_2002", "cut_com"),
            "name": ("nombre_comuna", "nombre", "comuna", "nom_comuna"),
        },
        path,
    )
    cut = text_of(frame, cols["cut"]).map(lambda v: v.zfill(5) if v and v.isdigit() else v)
    province_code = text_of(frame, find_column(frame, ("codigo_provincia", "cod_prov")))
    region_code = text_of(frame, find_column(frame, ("codigo_region", "cod_reg", "region_id")))
    region_name = text_of(frame, find_column(frame, ("nombre_region", "region")))
    name = text_of(frame, cols["name"])
    return keep_columns(
        frame,
        {
            "cut": cut,
            # The boundary file folds accents; the INE names restore them where we have them.
            "name": [ctx.accented_names.get(c or "", n) for c, n in zip(cut, name, strict=True)],
            "province_code": province_code.fillna(cut.str[:3]).str.zfill(3),
            "province_name": text_of(frame, find_column(frame, ("nombre_provincia", "provincia"))),
            "region_code": region_code.fillna(regions_of(cut)).str.zfill(2),
            "region_name": [
                ctx.accented_regions.get(region_of(c), r) if c else r
                for c, r in zip(cut, region_name, strict=True)
            ],
            "area_km2": float("nan"),
        },
    )


def urban_zones(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """Urban census zones (INE Censo 2017) with their population."""
    cols = require_columns(
        frame,
        {
            "geocode": ("geocodigo", "geocode"),
            "cut": ("codigo_comuna", "cut"),
            "population_2017": ("pob_2017", "personas", "poblacion"),
        },
        path,
    )
    return keep_columns(
        frame,
        {
            "geocode": text_of(frame, cols["geocode"]),
            "cut": text_of(frame, cols["cut"]),
            "population_2017": numbers_of(frame, cols["population_2017"]),
        },
    )


_POPULATION_COLUMN = re.compile(r"^pob_(\d{4})_(total|urbana|rural)(_zonas)?$")


def population(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """Population columns ``pob_AAAA_total|urbana|rural`` as one row per year and area."""
    code = find_column(frame, ("cut", "codigo_comuna", "cod_comuna"))
    measures = {
        column: match
        for column in frame.columns
        if isinstance(column, str) and (match := _POPULATION_COLUMN.match(column))
    }
    if code is None or not measures:
        raise SchemaError(
            f"{path.name}: un archivo de población necesita una columna de código comunal (cut o "
            "codigo_comuna) y columnas pob_AAAA_total / pob_AAAA_urbana / pob_AAAA_rural; revise "
            "que --kind corresponda al archivo"
        )
    long = []
    cuts = text_of(frame, code)  # the same for every measure: cleaned once
    for column, match in measures.items():
        part = pd.DataFrame(
            {
                SOURCE_ROW: frame[SOURCE_ROW],
                "cut": cuts,
                "year": int(match.group(1)),
                "area": match.group(2),
                "population": parse_number_column(frame[column]),
            }
        )
        long.append(part)
    result = pd.concat(long, ignore_index=True)
    return require_number(result, "population", out, "population")


def rural_classification(
    frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome
) -> Frame:
    """ODEPA national rural policy class (TIPO_COM) of each commune."""
    cols = require_columns(
        frame,
        {
            "cut": ("cut", "codigo_comuna"),
            "classification": ("clasificacion",),
            "commune_type": ("tipo_com",),
        },
        path,
    )
    result = keep_columns(
        frame,
        {
            "cut": text_of(frame, cols["cut"]),
            "classification": text_of(frame, cols["classification"]),
            "commune_type": numbers_of(frame, cols["commune_type"]),
            "population_2024": numbers_of(frame, find_column(frame, ("tot_pers_res_2024",))),
        },
    )
    return require_number(result, "commune_type", out, "TIPO_COM")


def localities(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """Census localities and rural entities with inhabitants and dwellings."""
    cols = require_columns(
        frame,
        {
            "cut": ("codigo_comuna", "cut"),
            "name": ("localidad", "nombre"),
            "locality_type": ("tipo",),
        },
        path,
    )
    return keep_columns(
        frame,
        {
            "cut": text_of(frame, cols["cut"]),
            "name": text_of(frame, cols["name"]).fillna("Sin nombre"),
            "locality_type": text_of(frame, cols["locality_type"]),
            "subtype": text_of(frame, find_column(frame, ("subtipo",))),
            "inhabitants": numbers_of(frame, find_column(frame, ("habitantes", "personas"))),
            "dwellings": numbers_of(frame, find_column(frame, ("viviendas",))),
        },
    )
