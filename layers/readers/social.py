"""Readers of social and municipal data: poverty (MDSF), municipal finance (SINIM), camps."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from layers.errors import SchemaError
from layers.readers.columns import Frame, keep_columns, numbers_of, require_number, text_of
from layers.readers.context import ReadContext
from layers.readers.files import find_column, require_columns
from layers.validation import ValidationOutcome


def _year_from(frame: Frame, path: Path) -> pd.Series | int:
    column = find_column(frame, ("año", "ano", "anio", "year", "agno"))
    if column is not None:
        return numbers_of(frame, column)
    match = re.search(r"(19|20)\d{2}", path.stem)
    if match is None:
        raise SchemaError(
            f"{path.name}: no hay columna de año (año/year) ni un año en el nombre del archivo"
        )
    return int(match.group(0))


def poverty(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """MDSF multidimensional poverty rate (0-1, a percentage is converted) with its interval."""
    cols = require_columns(
        frame,
        {"cut": ("codigo", "cut", "codigo_comuna"), "rate": ("pobreza_p", "tasa", "rate")},
        path,
    )
    rate = numbers_of(frame, cols["rate"])
    if rate.max() > 1:  # published as a percentage
        rate = rate / 100
    result = keep_columns(
        frame,
        {
            "cut": text_of(frame, cols["cut"]),
            "year": _year_from(frame, path),
            "population": numbers_of(frame, find_column(frame, ("poblacion",))),
            "poor_count": numbers_of(frame, find_column(frame, ("pobreza_n",))),
            "rate": rate,
            "ci_lower": numbers_of(frame, find_column(frame, ("limite_inferior", "ci_lower"))),
            "ci_upper": numbers_of(frame, find_column(frame, ("limite_superior", "ci_upper"))),
            "measure": "multidimensional",
        },
    )
    result = require_number(result, "rate", out, "poverty rate")
    outside = (result["rate"] < 0) | (result["rate"] > 1)
    return out.reject(result, outside, "poverty rate outside 0-1")


def income_poverty(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """MDSF small-area income poverty: percentages (0-100) with their 95 % interval."""
    cols = require_columns(
        frame,
        {
            "cut": ("codigo_comuna", "codigo", "cut"),
            "rate": ("tasa_pobreza_ingresos_pct", "pobreza_ingresos_pct"),
        },
        path,
    )
    result = keep_columns(
        frame,
        {
            "cut": text_of(frame, cols["cut"]),
            "year": _year_from(frame, path),
            "population": numbers_of(frame, None),
            "poor_count": numbers_of(frame, None),
            "rate": numbers_of(frame, cols["rate"]) / 100,
            "ci_lower": numbers_of(frame, find_column(frame, ("limite_inferior_pct",))) / 100,
            "ci_upper": numbers_of(frame, find_column(frame, ("limite_superior_pct",))) / 100,
            "measure": "income",
        },
    )
    result = require_number(result, "rate", out, "income poverty rate")
    outside = (result["rate"] < 0) | (result["rate"] > 1)
    return out.reject(result, outside, "income poverty rate outside 0-100 %")


def finance(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """SUBDERE-SINIM municipal income, spending and investment of one year."""
    cols = require_columns(frame, {"cut": ("cut_comuna", "cut", "codigo_comuna")}, path)
    result = keep_columns(
        frame,
        {
            "cut": text_of(frame, cols["cut"]),
            "year": _year_from(frame, path),
            "municipality": text_of(frame, find_column(frame, ("municipio",))),
            "income_total_mclp": numbers_of(
                frame, find_column(frame, ("ingresos_municipales_total_mclp",))
            ),
            "spending_total_mclp": numbers_of(
                frame, find_column(frame, ("gastos_municipales_total_devengado_mclp",))
            ),
            "investment_mclp": numbers_of(frame, find_column(frame, ("inversion_municipal_mclp",))),
            "income_per_capita_clp": numbers_of(
                frame, find_column(frame, ("ingresos_municipales_percapita_clp",))
            ),
            "own_income_per_capita_mclp": numbers_of(
                frame, find_column(frame, ("ingresos_propios_permanentes_percapita_mclp",))
            ),
            "spending_per_capita_clp": numbers_of(
                frame, find_column(frame, ("gasto_municipal_percapita_clp",))
            ),
            "population": numbers_of(frame, find_column(frame, ("poblacion_comunal_ine",))),
            "density_per_km2": numbers_of(frame, find_column(frame, ("densidad_pob_km2",))),
            "pct_rural": numbers_of(frame, find_column(frame, ("pct_poblacion_rural",))),
        },
    )
    return require_number(result, "year", out, "year")


def informal_settlements(
    frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome
) -> Frame:
    """MINVU informal settlements (campamentos) with households and hectares."""
    cols = require_columns(frame, {"cut": ("cut", "codigo_comuna")}, path)
    return keep_columns(
        frame,
        {
            "source_id": text_of(frame, find_column(frame, ("folio", "id"))),
            "cut": text_of(frame, cols["cut"]),
            "name": text_of(frame, find_column(frame, ("nombre", "name"))),
            "households": numbers_of(frame, find_column(frame, ("n_hog", "hogares", "households"))),
            "hectares": numbers_of(frame, find_column(frame, ("hectareas", "hectares"))),
        },
    )
