"""What the planners' map, its layers, the printable profile and the exports read.

Simplified commune outlines (with label points), the region list, the point overlays and the
indicator medians, each read once per data state (or run) through the worker's caches.
Overlays of one region are filtered by the store (a CUT range on its index), not in pandas.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import geopandas as gpd
import pandas as pd

from analysis import load_catalogue
from domain.errors import NotFoundError
from geo_service.services.cache import Caches
from geo_service.services.coverage import LayerCoverage, coverage_of
from geo_service.services.serving import resolve_run, run_result
from layers.stores import Store
from maps import overlays as overlay_features
from maps.geometry import simplified_outlines
from maps.profile import indicator_medians

#: Point overlays of the map, by the name in their URL.
OVERLAY_NAMES = ("apr", "proyectos", "salud", "escuelas", "huella", "accesibilidad")


def json_bytes(value: Any) -> tuple[bytes, bytes]:
    """Compact JSON bytes and their gzip, made once and cached together."""
    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return plain, gzip.compress(plain, compresslevel=6, mtime=0)


def outlines(store: Store, caches: Caches) -> gpd.GeoDataFrame:
    """Simplified commune outlines with label points, read once per data state."""

    def build() -> gpd.GeoDataFrame:
        communes = store.read(
            "communes", columns=["cut", "name", "region_code", "region_name", "geom"]
        )
        if communes.empty:
            raise NotFoundError("no hay comunas cargadas; ejecute `geogaps load`")
        return simplified_outlines(gpd.GeoDataFrame(communes, geometry="geom"))

    frame: gpd.GeoDataFrame = caches.get_or_make(
        "page", "outlines", build, state=caches.data_state(store)
    )
    return frame


def label_points(store: Store, caches: Caches) -> dict[str, tuple[float, float]]:
    """Commune CUT → (lon, lat) of its label (inside its largest part)."""
    frame = outlines(store, caches)
    return {cut: (p[0], p[1]) for cut, p in zip(frame["cut"], frame["label_point"], strict=True)}


def region_list(store: Store, caches: Caches) -> list[dict[str, str]]:
    """Region codes and names of the loaded communes, in code order."""
    frame = outlines(store, caches)[["region_code", "region_name"]].drop_duplicates()
    return [
        {"code": str(code), "name": str(name)}
        for code, name in frame.sort_values("region_code").itertuples(index=False)
    ]


def overlay(store: Store, caches: Caches, name: str, region: str | None) -> dict[str, Any]:
    """The GeoJSON of one point overlay, of one region or of the whole country."""
    if name not in OVERLAY_NAMES:
        raise NotFoundError(f"capa desconocida {name!r}; capas: {', '.join(OVERLAY_NAMES)}")

    def read(table: str, columns: list[str]) -> pd.DataFrame:
        return store.read(table, region=region, columns=columns)

    if name == "apr":
        features = overlay_features.apr_features(
            read("apr_systems", ["cut", "name", "beneficiaries", "connections", "status", "geom"])
        )
        return {**features, "coverage": layer_summary(store, caches, "apr_systems", region)}
    if name == "proyectos":
        columns = ["cut", "name", "typology", "stage", "total_investment_clp",
                   "location_precision", "geom"]  # fmt: skip
        features = overlay_features.project_features(
            read("project_sites", columns), label_points(store, caches)
        )
        return {**features, "coverage": layer_summary(store, caches, "project_sites", region)}
    if name in ("salud", "escuelas"):
        facilities = read(
            "facilities",
            ["cut", "name", "category", "facility_type", "level", "operating_status", "geom"],
        )
        category = facilities["category"].fillna("")
        if name == "salud":
            chosen = facilities[category == load_catalogue().settings.health_category]
        else:
            chosen = facilities[category.str.startswith("educacion")]
        return overlay_features.facility_features(chosen, health=name == "salud")
    frame = outlines(store, caches)
    names = dict(zip(frame["cut"], frame["name"], strict=True))
    if name == "accesibilidad":
        columns = ["cut", "facility", "rural_minutes_mean", "rural_share_beyond_60_minutes"]
        access = read("accessibility", columns)
        # Minutes to the nearest APR exist only where the APR layer covers the commune: elsewhere
        # the nearest loaded system may be regions away (an artefact, not a travel time).
        apr = layer_coverage(store, caches, "apr_systems")
        keep = (access["facility"] != "apr") | access["cut"].astype(str).isin(apr.cuts)
        return {
            **overlay_features.accessibility_features(
                access[keep], label_points(store, caches), names
            ),
            "coverage": {"apr": apr.summary(region, region_size(store, caches, region))},
        }
    presence = read("huella_presence", ["cut", "intervention"])
    return overlay_features.huella_features(presence, label_points(store, caches), names)


def layer_coverage(store: Store, caches: Caches, table: str) -> LayerCoverage:
    """Which communes a point layer covers, read once per data state."""

    def build() -> LayerCoverage:
        rows = store.read(table, columns=["cut"])
        return coverage_of(table, rows, len(outlines(store, caches)))

    found: LayerCoverage = caches.get_or_make(
        "page", ("coverage", table), build, state=caches.data_state(store)
    )
    return found


def region_size(store: Store, caches: Caches, region: str | None) -> int | None:
    """Number of loaded communes of ``region`` (None for the nation)."""
    if region is None:
        return None
    return int((outlines(store, caches)["region_code"] == region).sum())


def layer_summary(store: Store, caches: Caches, table: str, region: str | None) -> dict[str, Any]:
    """What a layer covers in the scope: counts and ``La capa APR cubre 2 de 345 comunas``."""
    return layer_coverage(store, caches, table).summary(region, region_size(store, caches, region))


def medians(store: Store, caches: Caches, region: str) -> dict[str, dict[str, float | None]]:
    """Indicator medians of the newest national run: in ``region`` and nationally."""
    run = resolve_run(store, None, caches=caches)
    result = run_result(store, caches, run)
    found: dict[str, dict[str, float | None]] = caches.get_or_make(
        "page",
        ("medians", region),
        lambda: indicator_medians(result.indicators, result.catalogue, region),
        state=run.run_id,
    )
    return found
