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
    run = store.newest_run() if run_id is None else store.run(run_id)
    # Every read is filtered by the store (a CUT range on its index), not in pandas.
    results = store.run_results(run.run_id, region=region, order=["challenge", "cut"])
    communes = store.read("communes", region=region, columns=["cut", "name", "region_name", "geom"])
    apr = store.read("apr_systems", region=region, columns=["cut", "name", "beneficiaries", "geom"])
    facilities = store.read("facilities", region=region, columns=["cut", "category", "geom"])
    return gap_map(
        communes,
        results,
        challenge,
        apr_systems=apr,
        facilities=facilities,
        region=region,
        national_total=run.ranked_counts.get(challenge),
    )
