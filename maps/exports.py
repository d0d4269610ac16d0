"""Downloads of the map: the priority table as Excel-ready CSV and the map as a static PNG.

Both take score rows exactly as the API returns them (``/scores`` or ``/gaps``), so a
download always matches what the page shows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Final

import geopandas as gpd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analysis.formatting import format_number, format_rank, format_share
from domain.labels import MISSING
from domain.regions import region_of
from maps.page import CONTINENT_WEST, NO_SCORE_COLOUR, UNSTABLE_SHARE, is_unstable, tier_colour

#: Spanish column headers of the priority CSV.
CSV_HEADERS: Final = (
    "Lugar",
    "Lugar nacional",
    "CUT",
    "Comuna",
    "Región",
    "Puntaje",
    "Tramo",
    "Intervalo del lugar (5–95 %)",
    "Simulaciones en el tramo 1",
    "Cobertura de indicadores",
    "Principales factores",
)


def ordered_rows(rows: Sequence[dict[str, Any]], region: str | None) -> list[dict[str, Any]]:
    """Score rows by their rank in the view (regional rank within a region), unranked last."""

    def key(row: dict[str, Any]) -> tuple[bool, float, str]:
        rank = row.get("rank_region") if region else row.get("rank")
        if rank is None and region:
            rank = row.get("rank")
        return (rank is None, float(rank) if rank is not None else 0.0, str(row["cut"]))

    return sorted(rows, key=key)


def priority_csv(
    rows: Sequence[dict[str, Any]], region: str | None, region_names: dict[str, str]
) -> bytes:
    """The priority table for a Spanish-locale Excel: UTF-8 with BOM, ``;``, decimal comma.

    Parameters
    ----------
    rows
        Score rows of one challenge as ``/scores`` or ``/gaps`` return them.
    region
        The region of the view (ranks within it come first), or None for the nation.
    region_names
        Region code → name.

    Returns
    -------
    bytes
        CSV text encoded ``utf-8-sig``; numbers written by :mod:`analysis.formatting`.
    """
    sink = io.StringIO()
    writer = csv.writer(sink, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for row in ordered_rows(rows, region):
        view_rank = row.get("rank_region") if region else row.get("rank")
        low = row.get("rank_p05_region") if region else row.get("rank_p05")
        high = row.get("rank_p95_region") if region else row.get("rank_p95")
        share = row.get("top_tier_share")
        writer.writerow(
            [
                format_rank(view_rank),
                format_rank(row.get("rank")),
                row["cut"],
                row.get("name") or "",
                region_names.get(str(row.get("region_code") or region_of(row["cut"])), ""),
                format_number(row.get("score"), 3),
                row.get("tier_label") or "Sin tramo",
                f"{format_rank(low)}–{format_rank(high)}" if low is not None else MISSING,
                format_share(share) if share is not None else MISSING,
                format_share(row.get("coverage")),
                row.get("explanation") or "",
            ]
        )
    return sink.getvalue().encode("utf-8-sig")


def map_png(
    outlines: gpd.GeoDataFrame,
    rows: Sequence[dict[str, Any]],
    *,
    title: str,
    subtitle: str,
    region: str | None,
) -> bytes:
    """A static map of one challenge: communes by tier, unstable ones hatched, with a legend.

    Parameters
    ----------
    outlines
        Simplified commune outlines (``cut``, ``region_code``, geometry) in EPSG:4326.
    rows
        Score rows of the challenge (``tier``, ``tier_label``, ``top_tier_share``).
    title, subtitle
        Spanish heading lines (challenge and scope; run and data years).
    region
        Only this region's communes, or None for continental Chile.

    Returns
    -------
    bytes
        A PNG image.
    """
    by_cut = {str(row["cut"]): row for row in rows}
    shown = outlines if region is None else outlines[outlines["region_code"] == region]
    if region is None:
        # Continental view: the oceanic islands would shrink the mainland to a thread.
        shown = shown.cx[CONTINENT_WEST:-60.0, :]
    colours = [tier_colour(by_cut.get(cut, {}).get("tier")) for cut in shown["cut"]]
    unstable = [
        is_unstable(by_cut.get(cut, {}).get("tier"), by_cut.get(cut, {}).get("top_tier_share"))
        for cut in shown["cut"]
    ]
    height = 11.0 if region is None else 8.0
    # A bare Figure (no pyplot): no global state, safe in the server's worker threads.
    figure = Figure(figsize=(6.5 if region is None else 8.0, height), dpi=110)
    axes = figure.subplots()
    shown.plot(ax=axes, color=colours, edgecolor="#555555", linewidth=0.3)
    hatched = shown[unstable]
    if not hatched.empty:
        hatched.plot(ax=axes, facecolor="none", edgecolor="#333333", hatch="////", linewidth=0.3)
    regions = shown.dissolve(by="region_code")
    regions.boundary.plot(ax=axes, color="#222222", linewidth=0.8)
    axes.set_axis_off()
    axes.set_title(f"{title}\n{subtitle}", fontsize=10, loc="left")
    labels: dict[int, str] = {}
    for row in rows:
        if row.get("tier") is not None:
            labels[int(row["tier"])] = str(row.get("tier_label") or f"Tramo {row['tier']}")
    handles = [
        Patch(facecolor=tier_colour(tier), edgecolor="#555555", label=f"{tier} · {label}")
        for tier, label in sorted(labels.items())
    ]
    handles.append(Patch(facecolor=NO_SCORE_COLOUR, edgecolor="#555555", label="Sin dato"))
    handles.append(
        Patch(
            facecolor="white",
            edgecolor="#333333",
            hatch="////",
            label=f"Prioridad inestable (tramo 1 en {format_share(1 - UNSTABLE_SHARE)}–"
            f"{format_share(UNSTABLE_SHARE)} de las simulaciones)",
        )
    )
    axes.legend(handles=handles, loc="lower right", fontsize=7, frameon=True)
    sink = io.BytesIO()
    figure.savefig(sink, format="png", bbox_inches="tight")
    return sink.getvalue()
