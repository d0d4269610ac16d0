"""Folium/Leaflet map of commune gap scores as one self-contained HTML file (``geogaps map``).

The interactive service page is :mod:`maps.page` (``/mapa``); this export embeds Leaflet and
the data in the file itself, so it opens from disk with no server and no internet.
"""

from __future__ import annotations

import html
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import shapely

from analysis.challenges import Catalogue, load_catalogue
from analysis.formatting import format_share
from analysis.view import with_view
from domain.errors import InvalidInputError
from domain.labels import MISSING, NO_RANK
from maps.assets import embed_leaflet
from maps.geometry import SIMPLIFY_DEGREES
from maps.page import CONTINENT_WEST, NO_SCORE_COLOUR
from maps.page import tier_colour as fixed_tier_colour

#: Tooltip rows: column of the map's table → Spanish label.
TOOLTIP_FIELDS = {
    "name": "Comuna",
    "cut": "CUT",
    "region_name": "Región",
    "puntaje": "Puntaje de brecha",
    "lugar": "Lugar (1 = mayor brecha)",
    "tramo": "Prioridad",
    "cobertura": "Cobertura (parte del peso)",
    "explanation": "Por qué",
}


def tier_colour(tier: float | None, tier_count: int | None = None) -> str:
    """Colour of a tier number: the same in every view, however many tiers the run has.

    ``tier_count`` is accepted for old callers and ignored: stretching the ramp made a
    region's "media" wear the national "baja" colour.
    """
    if tier is None or pd.isna(tier):
        return NO_SCORE_COLOUR
    return fixed_tier_colour(float(tier))


def gap_map(
    communes: gpd.GeoDataFrame,
    scores: pd.DataFrame,
    challenge: str,
    *,
    apr_systems: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    catalogue: Catalogue | None = None,
    region: str | None = None,
    national_total: int | None = None,
) -> folium.Map:
    """Build the planners' map of one challenge.

    Parameters
    ----------
    communes
        Commune outlines (``cut``, ``name``, ``region_name``, ``geom``), EPSG:4326.
    scores
        Rows of one score run (columns of ``score_results``), any challenges.
    challenge
        Challenge to colour the communes by.
    apr_systems, facilities
        Optional point layers, shown as toggleable overlays.
    catalogue
        The run's catalogue, which names the challenge (the packaged one by default).
    region
        The view's region: tiers, places and intervals are then the region's, as on the
        service's map (:mod:`analysis.view`); None for the national view.
    national_total
        Communes ranked nationally (for "30 de 345"); those of ``scores`` by default.

    Returns
    -------
    folium.Map
        Communes coloured by priority tier, with Spanish tooltips giving score, rank, rank
        interval, indicator coverage and the drivers of the score.

    Raises
    ------
    InvalidInputError
        If ``scores`` has no rows for ``challenge`` (also a ``ValueError``).
    """
    rows = scores[scores["challenge"] == challenge]
    if rows.empty:
        raise InvalidInputError(f"esta corrida no tiene puntajes del desafío {challenge!r}")
    views = _views(rows, region, national_total)
    rows = rows.assign(
        tier=[views[cut]["tier"] for cut in rows["cut"]],
        tier_label=[views[cut]["tier_label"] for cut in rows["cut"]],
    )
    tier_count = int(rows["tier"].max()) if rows["tier"].notna().any() else 1
    shown = communes[communes["cut"].isin(rows["cut"])][["cut", "name", "region_name", "geom"]]
    shown = shown.merge(rows.drop(columns=["name"], errors="ignore"), on="cut", how="left")
    shown = gpd.GeoDataFrame(shown, geometry="geom", crs=communes.crs)
    shown["geom"] = shapely.simplify(shown.geometry.array, SIMPLIFY_DEGREES, preserve_topology=True)
    shown = shown[shown.geometry.notna() & ~shown.geometry.is_empty]
    shown["colour"] = [tier_colour(t, tier_count) for t in shown["tier"]]
    shown["puntaje"] = shown["score"].map(lambda v: MISSING if pd.isna(v) else f"{v:.3f}")
    shown["lugar"] = [_rank_text(views[cut]) for cut in shown["cut"]]
    shown["cobertura"] = shown["coverage"].map(lambda v: f"{format_share(v)} del peso")
    shown["tramo"] = [views[cut]["tier_label"] for cut in shown["cut"]]

    # No web basemap: the file must open offline; outlines and the legend carry the map.
    folium_map = embed_leaflet(folium.Map(tiles=None, control_scale=True))
    folium_map.fit_bounds(_initial_view(shown))
    folium.GeoJson(
        shown[[*TOOLTIP_FIELDS, "colour", "geom"]],
        name=f"Brechas: {_title(catalogue or load_catalogue(), challenge)}",
        style_function=lambda feature: {
            "fillColor": feature["properties"]["colour"],
            "color": "#555555",
            "weight": 0.5,
            "fillOpacity": 0.75,
        },
        highlight_function=lambda _: {"weight": 2, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=list(TOOLTIP_FIELDS),
            aliases=list(TOOLTIP_FIELDS.values()),
            sticky=True,
            style="max-width: 360px; white-space: normal;",
        ),
    ).add_to(folium_map)
    root: Any = folium_map.get_root()  # a branca Figure, whose `html` element takes the legend
    root.html.add_child(folium.Element(_legend_html(rows, tier_count)))
    if apr_systems is not None and not apr_systems.empty:
        _apr_layer(apr_systems).add_to(folium_map)
    if facilities is not None and not facilities.empty:
        _facility_layer(facilities).add_to(folium_map)
    folium.LayerControl(collapsed=False).add_to(folium_map)
    return folium_map


def _title(catalogue: Catalogue, challenge: str) -> str:
    """The catalogue's label of a challenge; its id when the catalogue does not know it."""
    try:
        return catalogue.label_of(challenge)
    except KeyError:
        return challenge


def _views(
    rows: pd.DataFrame, region: str | None, national_total: int | None
) -> dict[str, dict[str, Any]]:
    """Each commune's answer in the view (:func:`analysis.view.view_answer`), by CUT."""
    records = [{str(key): value for key, value in row.items()} for row in rows.to_dict("records")]
    region_total = int(rows["rank_region"].notna().sum()) if "rank_region" in rows else None
    ranked = national_total or int(rows["rank"].notna().sum())
    for record in records:
        record["national_total"] = ranked
        record["region_total"] = region_total
    answered = with_view(records, region=region, within_region=False)
    return {str(record["cut"]): record["view"] for record in answered}


def _rank_text(view: dict[str, Any]) -> str:
    if view["place"] is None:
        return f"{NO_RANK} (cobertura insuficiente)"
    text = str(view["place_label"])
    if view["interval_low"] is not None and view["interval_high"] is not None:
        text += (
            f" (entre {view['interval_label'].replace('–', ' y ')} en el 90 % de las "
            f"simulaciones; {view['certainty_label']})"
        )
    return text


def _initial_view(shown: gpd.GeoDataFrame) -> list[list[float]]:
    """Bounds to open the map on: the continent, not the Pacific between it and its islands.

    Isla de Pascua, Juan Fernández and the Desventuradas islands (part of Valparaíso's polygon)
    are still drawn; they are just not in the first view.
    """
    parts = shown.geometry.explode(index_parts=False)
    continental = parts[parts.representative_point().x > CONTINENT_WEST]
    west, south, east, north = (continental if not continental.empty else parts).total_bounds
    return [[south, west], [north, east]]


def _legend_html(rows: pd.DataFrame, tier_count: int) -> str:
    tiers = rows.dropna(subset=["tier"]).drop_duplicates("tier").sort_values("tier")
    entries = [
        (tier_colour(float(tier), tier_count), f"{int(tier)} · {label}")
        for tier, label in zip(tiers["tier"], tiers["tier_label"], strict=True)
    ]
    entries.append((NO_SCORE_COLOUR, "Sin dato suficiente"))
    items = "".join(
        f'<div><span style="background:{colour};{_SWATCH}"></span>{html.escape(text)}</div>'
        for colour, text in entries
    )
    return (
        '<div style="position:fixed;bottom:30px;right:10px;z-index:1000;background:white;'
        'padding:8px 10px;border:1px solid #999;border-radius:4px;font:13px sans-serif">'
        f"<b>Tramo de prioridad</b>{items}</div>"
    )


_SWATCH = "display:inline-block;width:14px;height:14px;margin-right:6px;vertical-align:middle"


def _apr_layer(apr_systems: gpd.GeoDataFrame) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name="Sistemas APR / SSR", show=True)
    for row in apr_systems.to_dict("records"):
        point = row["geom"]
        if point is None:
            continue
        beneficiaries = row.get("beneficiaries")
        served = "s/i" if pd.isna(beneficiaries) else f"{beneficiaries:,.0f}".replace(",", ".")
        folium.CircleMarker(
            location=(point.y, point.x),
            radius=5,
            color="#08519c",
            fill=True,
            fill_opacity=0.9,
            tooltip=f"{row['name']} · beneficiarios: {served}",
        ).add_to(layer)
    return layer


def _facility_layer(facilities: gpd.GeoDataFrame) -> folium.FeatureGroup:
    health = facilities[(facilities["category"] == "salud") & facilities.geometry.notna()]
    # Off at first: thousands of markers would hide the tiers; planners switch it on.
    layer = folium.FeatureGroup(name="Establecimientos de salud (DEIS)", show=False)
    points = gpd.GeoDataFrame(geometry=list(health.geometry), crs="EPSG:4326")
    folium.GeoJson(
        points,
        marker=folium.CircleMarker(radius=2, color="#1b9e77", fill=True, weight=0),
    ).add_to(layer)
    return layer
