"""Readers of one-commune demo layers (Petorca): village outlines and the road network."""

from __future__ import annotations

from pathlib import Path

from layers.readers.columns import CUT_NAMES, Frame, cut_codes, keep_columns, numbers_of, text_of
from layers.readers.context import ReadContext
from layers.readers.files import find_column
from layers.validation import ValidationOutcome


def villages(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """Village outlines of a one-commune demo layer."""
    return keep_columns(
        frame,
        {
            "cut": cut_codes(frame, ctx, CUT_NAMES),
            "name": text_of(frame, find_column(frame, ("nombre", "name", "poblado"))),
        },
    )


def roads(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """Road and trail segments (MOP/SUBTRANS or OpenStreetMap lines)."""
    return keep_columns(
        frame,
        {
            "cut": cut_codes(frame, ctx, CUT_NAMES),
            # MOP/SUBTRANS (TIPOLOGIA, CARPETA) or OpenStreetMap (highway, surface) lines.
            "road_type": text_of(
                frame, find_column(frame, ("tipologia", "tipo", "road_type", "highway"))
            ),
            "surface": text_of(frame, find_column(frame, ("carpeta", "surface", "superficie"))),
            "length_m": numbers_of(frame, find_column(frame, ("shape_leng", "length", "longitud"))),
            "walking_hours": numbers_of(frame, find_column(frame, ("t_caminata", "horas"))),
        },
    )
