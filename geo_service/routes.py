"""HTTP routes: health, dataset provenance, layers as GeoJSON and gap scores."""

from __future__ import annotations

import json
from typing import Annotated, Any

import geopandas as gpd
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response

from layers.schema import DATA_TABLES
from layers.store import Store

router = APIRouter()


def get_store(request: Request) -> Store:
    """The store opened by the application's lifespan."""
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]
RegionQuery = Annotated[
    str | None, Query(pattern=r"^(0[1-9]|1[0-6])$", description="Region code, e.g. 04.")
]


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness probe."""
    return {"status": "ok"}


@router.get("/datasets")
def datasets(store: StoreDep) -> list[dict[str, Any]]:
    """Loaded datasets with their provenance (file, sha256, rows read / loaded / rejected)."""
    provenance = store.provenance().drop(columns=["report"])
    return json.loads(provenance.to_json(orient="records", date_format="iso"))


@router.get("/layers/{name}")
def layer(
    store: StoreDep,
    name: Annotated[str, Path(description=f"One of: {', '.join(sorted(DATA_TABLES))}.")],
    region: RegionQuery = None,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 10_000,
) -> Response:
    """A layer as GeoJSON (spatial tables) or JSON records, optionally for one region."""
    if name not in DATA_TABLES:
        raise HTTPException(
            404, f"unknown layer {name!r}; layers are {', '.join(sorted(DATA_TABLES))}"
        )
    frame = store.read_table(name)
    if region is not None:
        frame = frame[frame["cut"].str[:2] == region]
    frame = frame.head(limit)
    if "geom" in frame.columns:
        geojson = gpd.GeoDataFrame(frame).to_json(drop_id=True)
        return Response(geojson, media_type="application/geo+json")
    return Response(
        frame.to_json(orient="records", force_ascii=False), media_type="application/json"
    )


@router.get("/scores")
def scores(
    store: StoreDep,
    challenge: Annotated[
        str | None, Query(description="agua, conectividad, rural_urbano or compuesto.")
    ] = None,
    region: RegionQuery = None,
    run_id: Annotated[str | None, Query(description="A stored run; default the newest.")] = None,
) -> dict[str, Any]:
    """Gap scores of a stored run (run with `geogaps score`), ordered by rank."""
    try:
        run, results = store.read_score_run(run_id)
    except LookupError as error:
        raise HTTPException(404, f"{error}; run `geogaps score` first") from None
    if challenge is not None:
        if challenge not in set(results["challenge"]):
            raise HTTPException(404, f"unknown challenge {challenge!r}")
        results = results[results["challenge"] == challenge]
    if region is not None:
        results = results[results["cut"].str[:2] == region]
    results = results.sort_values(["challenge", "rank", "cut"], na_position="last")
    records = json.loads(results.drop(columns=["run_id"]).to_json(orient="records"))
    return {
        "run": run.summary(),
        "scores": records,
    }
