"""Downloads of the map: the priority table as Excel-ready CSV and the map as a static PNG.

Both take score rows exactly as the API returns them (``/scores`` or ``/gaps``), so a
download always matches what the page shows.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Sequence
from typing import Any, Final

import geopandas as gpd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analysis.formatting import format_number, format_rank, format_share
from analysis.view import TIE, UNCERTAIN, UNSTABLE_SHARE
from domain.labels import NO_RANK
from domain.regions import region_of
from maps.page import CONTINENT_WEST, NO_SCORE_COLOUR, tier_colour

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
    "Certeza",
    "Cobertura (% del peso)",
    "Principales factores",
    "Nota",
)


def view_of(row: dict[str, Any]) -> dict[str, Any]:
    """The view's answer of a score row (:func:`analysis.view.view_answer`)."""
    answer: dict[str, Any] = row["view"]
    return answer


def ordered_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score rows by their place in the view, unplaced last, then by CUT."""

    def key(row: dict[str, Any]) -> tuple[bool, int, str]:
        place = view_of(row)["place"]
        return (place is None, place or 0, str(row["cut"]))

    return sorted(rows, key=key)


def place_text(view: dict[str, Any]) -> str:
    """The view's place as a number Excel can sort, ``(empate)`` when it is shared."""
    text = format_rank(view["place"]) if view["place"] is not None else NO_RANK
    return f"{text} ({TIE})" if view["tie"] else text


def priority_csv(
    rows: Sequence[dict[str, Any]], region_names: dict[str, str], notes: Sequence[str] = ()
) -> bytes:
    """The priority table of a view for a Spanish-locale Excel: UTF-8 with BOM, ``;``.

    Parameters
    ----------
    rows
        Score rows of one challenge as ``/scores`` or ``/gaps`` return them, each with its
        ``view`` answer: place, tier, interval, top-tier share and certainty are the view's
        (regional in a regional view), as on the map.
    region_names
        Region code → name.
    notes
        The scope's notes (indicators left out of it), written in every row's "Nota" so a
        row read alone still says what its score rests on.

    Returns
    -------
    bytes
        CSV text encoded ``utf-8-sig``; numbers written by :mod:`analysis.formatting`.
    """
    sink = io.StringIO()
    writer = csv.writer(sink, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for row in ordered_rows(rows):
        view = view_of(row)
        writer.writerow(
            [
                place_text(view),
                view["national_place_label"],
                row["cut"],
                row.get("name") or "",
                region_names.get(str(row.get("region_code") or region_of(row["cut"])), ""),
                format_number(row.get("score"), 3),
                view["tier_label"],
                view["interval_label"],
                view["top_tier_label"],
                view["certainty_label"],
                format_share(row.get("coverage")),
                row.get("explanation") or "",
                " ".join(filter(None, [view["note"] and f"{view['note']}.", *notes])),
            ]
        )
    return sink.getvalue().encode("utf-8-sig")


def png_legend(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the PNG draws for a view: each commune's tier and the legend's tier labels."""
    tiers = {str(row["cut"]): view_of(row)["tier"] for row in rows}
    labels: dict[int, str] = {}
    for row in rows:
        view = view_of(row)
        if view["tier"] is not None:
            labels[int(view["tier"])] = str(view["tier_label"])
    return {"tiers": tiers, "labels": {str(t): labels[t] for t in sorted(labels)}}


def map_png(
    outlines: gpd.GeoDataFrame,
    rows: Sequence[dict[str, Any]],
    *,
    title: str,
    subtitle: str,
    region: str | None,
    notes: Sequence[str] = (),
) -> bytes:
    """A static map of one challenge: communes by tier, unstable ones hatched, with a legend.

    Parameters
    ----------
    outlines
        Simplified commune outlines (``cut``, ``region_code``, geometry) in EPSG:4326.
    rows
        Score rows of the challenge, each with its ``view`` answer (tier, label, certainty):
        the colours are the map's for the same view.
    title, subtitle
        Spanish heading lines (challenge and scope; run and data years).
    region
        Only this region's communes, or None for continental Chile.
    notes
        The scope's notes (indicators left out of it), printed under the map.

    Returns
    -------
    bytes
        A PNG image.
    """
    by_cut = {str(row["cut"]): view_of(row) for row in rows}
    legend = png_legend(rows)
    shown = outlines if region is None else outlines[outlines["region_code"] == region]
    if region is None:
        # Continental view: the oceanic islands would shrink the mainland to a thread.
        shown = shown.cx[CONTINENT_WEST:-60.0, :]
    colours = [tier_colour(by_cut.get(cut, {}).get("tier")) for cut in shown["cut"]]
    unstable = [by_cut.get(cut, {}).get("certainty") == UNCERTAIN for cut in shown["cut"]]
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
    handles = [
        Patch(facecolor=tier_colour(int(tier)), edgecolor="#555555", label=f"{tier} · {label}")
        for tier, label in legend["labels"].items()
    ]
    handles.append(Patch(facecolor=NO_SCORE_COLOUR, edgecolor="#555555", label="Sin dato"))
    handles.append(
        Patch(
            facecolor="white",
            edgecolor="#333333",
            hatch="////",
            label=f"Prioridad incierta (tramo 1 en {format_share(1 - UNSTABLE_SHARE)}–"
            f"{format_share(UNSTABLE_SHARE)} de las simulaciones)",
        )
    )
    axes.legend(handles=handles, loc="lower right", fontsize=7, frameon=True)
    if notes:
        figure.text(0.02, 0.0, "\n".join(textwrap.wrap(" ".join(notes), 110)), fontsize=6,
                    va="top", ha="left", color="#333333")  # fmt: skip
    sink = io.BytesIO()
    # The title and the legend's data travel in the PNG's text chunks, so a reader (or a test)
    # can check the image shows the view without reading pixels.
    metadata = {"Title": f"{title} · {subtitle}", "Description": json.dumps(legend)}
    figure.savefig(sink, format="png", bbox_inches="tight", metadata=metadata)
    return sink.getvalue()
