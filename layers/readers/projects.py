"""Readers of the Huella Local portfolio: where the foundation works and its projects."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from domain.projects import LOCATION_PRECISIONS, PROJECT_TYPOLOGIES
from domain.text import fold
from layers.readers.columns import Frame, keep_columns, numbers_of, text_of
from layers.readers.context import ReadContext
from layers.readers.files import find_column, require_columns
from layers.validation import ValidationOutcome


def huella_presence(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """Communes where Fundación Huella Local works, and how."""
    cols = require_columns(
        frame,
        {"cut": ("cut", "codigo_comuna"), "intervention": ("intervention", "intervencion")},
        path,
    )
    result = keep_columns(
        frame,
        {"cut": text_of(frame, cols["cut"]), "intervention": text_of(frame, cols["intervention"])},
    )
    return out.reject(result, result["intervention"].isna(), "falta la intervención")


#: Folded typology → the typology as the project files and ``project_sites`` write it.
_TYPOLOGIES = {fold(t): t for t in PROJECT_TYPOLOGIES}


def projects(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """Huella Local projects: typology, stage, investment in CLP and location precision."""
    cols = require_columns(
        frame,
        {
            "project_id": ("project_id", "id_proyecto", "codigo"),
            "cut": ("cut", "codigo_comuna"),
            "name": ("name", "nombre"),
            "typology": ("typology", "tipologia"),
        },
        path,
    )

    def money_clp(clp_names: tuple[str, ...], mclp_names: tuple[str, ...]) -> pd.Series:
        clp = find_column(frame, clp_names)
        if clp is not None:
            return numbers_of(frame, clp)
        # M$ in Chilean public finance = thousands of pesos
        return numbers_of(frame, find_column(frame, mclp_names)) * 1000

    has_point = ~(frame.geometry.isna() | frame.geometry.is_empty)
    precision = text_of(frame, find_column(frame, ("location_precision", "precision")))
    precision = precision.where(precision.notna(), has_point.map({True: "exact", False: "commune"}))
    typology_text = text_of(frame, cols["typology"])
    typology = typology_text.map(lambda t: _TYPOLOGIES.get(fold(t or "")))
    result = keep_columns(
        frame,
        {
            "project_id": text_of(frame, cols["project_id"]),
            "cut": text_of(frame, cols["cut"]),
            "name": text_of(frame, cols["name"]),
            "typology": typology,
            "stage": text_of(frame, find_column(frame, ("stage", "etapa"))),
            "total_investment_clp": money_clp(
                ("total_investment_clp", "inversion_clp"), ("total_investment_mclp",)
            ),
            "private_contribution_clp": money_clp(
                ("private_contribution_clp", "aporte_privado_clp"), ("private_contribution_mclp",)
            ),
            "location_precision": precision,
            "source_note": text_of(frame, find_column(frame, ("source_note", "fuente", "nota"))),
            "outside_declared_commune": False,
        },
    )
    result = out.reject(
        result,
        typology_text.isna(),
        f"falta la tipología (typology); escriba una de {', '.join(PROJECT_TYPOLOGIES)}",
    )
    result = out.reject(
        result,
        result["typology"].isna(),
        f"la tipología no es una de {', '.join(PROJECT_TYPOLOGIES)}",
    )
    bad_precision = ~result["location_precision"].isin(LOCATION_PRECISIONS)
    result = out.reject(
        result, bad_precision, f"location_precision no es {'/'.join(LOCATION_PRECISIONS)}"
    )
    # A point-less project is still a project: it counts for its commune.
    claims_point = result["location_precision"].isin(("exact",))
    missing_point = result.geometry.isna() | result.geometry.is_empty
    return out.reject(
        result,
        claims_point & missing_point,
        "location_precision es exact pero faltan las coordenadas",
    )
