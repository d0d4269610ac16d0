"""Readers of social and municipal data: poverty (MDSF), municipal finance (SINIM), camps."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from layers.errors import SchemaError
from layers.readers.columns import Frame, keep_columns, numbers_of, require_number, text_of
from layers.readers.context import ReadContext
from layers.readers.files import find_column, require_columns
from layers.readers.units import percent_divisor
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


def _rates(
    frame: Frame,
    path: Path,
    cols: dict[str, str],
    bounds: tuple[tuple[str, ...], tuple[str, ...]],
    percent: bool,
) -> tuple[pd.Series, dict[str, pd.Series]]:
    """The CUT codes, and the rate with its interval bounds as shares, one unit for all three.

    ``bounds`` are the names of the lower and upper bound columns. The unit is decided from the
    three columns together (:mod:`layers.readers.units`); a file that mixes shares and
    percentages is refused. Missing bounds stay missing.
    """
    cut = text_of(frame, cols["cut"])
    columns = {
        "rate": cols["rate"],
        "ci_lower": find_column(frame, bounds[0]),
        "ci_upper": find_column(frame, bounds[1]),
    }
    values = {name: numbers_of(frame, column) for name, column in columns.items()}
    written = {column: values[name] for name, column in columns.items() if column is not None}
    divisor = percent_divisor(frame, written, cut, path, declared_percent=percent)
    return cut, {name: series / divisor for name, series in values.items()}


def poverty(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """MDSF multidimensional poverty rate with its interval, as shares or as percentages.

    Stored as shares (0-1); the file's unit is read from its rate and interval columns
    together, and a file mixing both units is refused (:mod:`layers.readers.units`).
    """
    cols = require_columns(
        frame,
        {"cut": ("codigo", "cut", "codigo_comuna"), "rate": ("pobreza_p", "tasa", "rate")},
        path,
    )
    cut, rates = _rates(
        frame, path, cols, (("limite_inferior", "ci_lower"), ("limite_superior", "ci_upper")), False
    )
    result = keep_columns(
        frame,
        {
            "cut": cut,
            "year": _year_from(frame, path),
            "population": numbers_of(frame, find_column(frame, ("poblacion",))),
            "poor_count": numbers_of(frame, find_column(frame, ("pobreza_n",))),
            **rates,
            "measure": "multidimensional",
        },
    )
    result = require_number(result, "rate", out, "poverty rate")
    outside = (result["rate"] < 0) | (result["rate"] > 1)
    return out.reject(result, outside, "tasa de pobreza fuera de 0–1")


def income_poverty(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """MDSF small-area income poverty: percentages (0-100) with their 95 % interval.

    The ``_pct`` headers declare percentages; a file whose values mix units, or are all shares,
    is refused (:mod:`layers.readers.units`).
    """
    cols = require_columns(
        frame,
        {
            "cut": ("codigo_comuna", "codigo", "cut"),
            "rate": ("tasa_pobreza_ingresos_pct", "pobreza_ingresos_pct"),
        },
        path,
    )
    cut, rates = _rates(
        frame, path, cols, (("limite_inferior_pct",), ("limite_superior_pct",)), True
    )
    result = keep_columns(
        frame,
        {
            "cut": cut,
            "year": _year_from(frame, path),
            "population": numbers_of(frame, None),
            "poor_count": numbers_of(frame, None),
            **rates,
            "measure": "income",
        },
    )
    result = require_number(result, "rate", out, "income poverty rate")
    outside = (result["rate"] < 0) | (result["rate"] > 1)
    return out.reject(result, outside, "tasa de pobreza por ingresos fuera de 0–100 %")


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
