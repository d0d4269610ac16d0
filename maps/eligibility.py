"""The Zonas Rezagadas threshold curve as a PNG: how the susceptible count moves with it.

The curve (susceptible communes for each threshold of the emulated SUBDERE isolation index)
comes from :func:`analysis.decision.isolation.threshold_curve`; the chart marks the published
range and the threshold in use, and says in its own text that it is an emulation.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from analysis.formatting import format_integer, format_number

CURVE_TITLE = "Comunas susceptibles según el umbral del índice de aislamiento"
EMULATION_NOTE = "Emulación con datos abiertos, no la lista oficial de SUBDERE."


def curve_caption(calibration: Mapping[str, Any], *, wrap: bool = False) -> str:
    """The threshold in use, its count and the published range (two lines with ``wrap``)."""
    low, high = calibration["rango_publicado"]
    how = "calibrado" if calibration.get("calibrado") else "fijado por el usuario"
    inside = "dentro" if calibration.get("dentro_del_rango") else "fuera"
    return (
        f"Umbral {format_number(calibration['umbral'], 2)} ({how}): "
        f"{format_integer(calibration['susceptibles'])} comunas susceptibles, {inside} del "
        f"rango publicado {format_integer(low)}–{format_integer(high)}"
        + ("\n" if wrap else " ")
        + "(SUBDERE 2022: 120; 2021: 135)."
    )


def threshold_curve_png(curve: pd.DataFrame, calibration: Mapping[str, Any]) -> bytes:
    """The count of susceptible communes against the index threshold, as a PNG.

    Parameters
    ----------
    curve : pandas.DataFrame
        ``umbral`` and ``susceptibles``.
    calibration : mapping
        :attr:`analysis.decision.eligibility.EligibilityResult.calibration`.
    """
    low, high = calibration["rango_publicado"]
    # A bare Figure (no pyplot): no global state, safe in the server's worker threads.
    figure = Figure(figsize=(7.5, 5.0), dpi=110)
    axes = figure.subplots()
    axes.axhspan(low, high, color="#f4c27a", alpha=0.45, label="rango publicado (SUBDERE)")
    axes.step(curve["umbral"], curve["susceptibles"], where="post", color="#1f5f8b", linewidth=1.8)
    axes.plot(curve["umbral"], curve["susceptibles"], "o", color="#1f5f8b", markersize=2.5)
    axes.axvline(
        float(calibration["umbral"]), color="#b8312f", linestyle="--", label="umbral usado"
    )
    # Chilean decimal comma on the axis too (one formatter for every number people read).
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: format_number(value, 2)))
    axes.set_xlabel("Umbral del índice de aislamiento (0–1)")
    axes.set_ylabel("Comunas susceptibles")
    title = f"{CURVE_TITLE}\n{curve_caption(calibration, wrap=True)}"
    axes.set_title(title, fontsize=9, loc="left")
    axes.legend(loc="upper right", fontsize=8)
    axes.grid(alpha=0.3)
    figure.text(
        0.01,
        0.01,
        f"{EMULATION_NOTE} {calibration.get('vintages', '')}",
        fontsize=6,
        wrap=True,
    )
    figure.subplots_adjust(top=0.84, bottom=0.24)
    sink = io.BytesIO()
    figure.savefig(sink, format="png")
    return sink.getvalue()
