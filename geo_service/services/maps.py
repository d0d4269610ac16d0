"""The planners' map of a stored score run, read from a store (shared by the API and the CLI)."""

from __future__ import annotations

import folium

from layers.stores import Store
from maps.gaps import gap_map


def stored_run_map(
    store: Store,
    challenge: str = "compuesto",
    region: str | None = None,
    run_id: str | None = None,
) -> folium.Map:
    """Map one challenge of a stored run (the newest by default), optionally for one region.

    Raises
    ------
    LookupError
        If no run (or not that run) is stored.
    ValueError
        If the run has no scores for ``challenge`` (or for that region).
    """
    _, results = store.read_score_run(run_id)
    communes = store.read_table("communes", ["cut", "name", "region_name", "geom"])
    apr = store.read_table("apr_systems", ["cut", "name", "beneficiaries", "geom"])
    facilities = store.read_table("facilities", ["cut", "category", "geom"])
    if region is not None:
        results = results[results["cut"].str[:2] == region]
        apr = apr[apr["cut"].str[:2] == region]
        facilities = facilities[facilities["cut"].str[:2] == region]
    return gap_map(communes, results, challenge, apr_systems=apr, facilities=facilities)
