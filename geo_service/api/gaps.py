"""Scores computed on request with custom weights: what the map's live re-weighting calls."""

from __future__ import annotations

import gzip
import hashlib
import math
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from analysis import Catalogue, ScoringParameters, load_catalogue
from analysis.scoring import live_scores
from analysis.view import with_view
from geo_service import __version__
from geo_service.api.deps import (
    CachesDep,
    LimitQuery,
    OffsetQuery,
    RegionQuery,
    SettingsDep,
    StoreDep,
    check_challenge,
)
from geo_service.api.responses import SafeJSONResponse, page_links
from geo_service.errors import BadParameterError, refused_input
from geo_service.services.cache import Caches
from geo_service.services.rows import region_counts, score_rows
from geo_service.services.serving import analysis_inputs
from geo_service.settings import Settings
from layers.stores import Store

router = APIRouter(tags=["brechas a pedido"])

#: Fewer Moran permutations than a stored run: clusters are not part of this answer.
LIVE_MORAN_PERMUTATIONS = 99


#: Largest weight accepted: weights are relative, so 1000 against 1 already silences a challenge;
#: larger numbers only risk overflowing the arithmetic (every score null).
MAX_WEIGHT = 1000.0


def parse_weights(text: str | None) -> tuple[dict[str, float], dict[str, float]]:
    """``agua:2,agua_sin_red_publica:0.5`` → (challenge weights, indicator weights).

    Raises
    ------
    BadParameterError
        A key that is neither a challenge nor an indicator of the catalogue, or a weight that is
        not a number from 0 to :data:`MAX_WEIGHT`.
    """
    catalogue = load_catalogue()
    challenges = set(catalogue.challenge_ids)
    indicators = {indicator.id for indicator in catalogue.indicators}
    challenge_weights: dict[str, float] = {}
    indicator_weights: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, separator, value = item.partition(":")
        key = key.strip()
        if not separator:
            raise BadParameterError(f"peso {item!r} sin valor: use clave:peso, p. ej. agua:2")
        try:
            weight = float(value)
        except ValueError:
            raise BadParameterError(f"el peso de {key!r} no es un número: {value!r}") from None
        if not math.isfinite(weight) or not 0 <= weight <= MAX_WEIGHT:
            raise BadParameterError(
                f"el peso de {key!r} debe ser un número entre 0 y {MAX_WEIGHT:g}, no {value!r}"
            )
        if key in challenges:
            challenge_weights[key] = weight
        elif key in indicators:
            indicator_weights[key] = weight
        else:
            raise BadParameterError(
                f"clave de peso desconocida {key!r}: no es un desafío "
                f"({', '.join(sorted(challenges))}) ni un indicador del catálogo"
            )
    return challenge_weights, indicator_weights


@router.get(
    "/gaps",
    summary="Brechas calculadas a pedido",
    description="Puntajes calculados en el momento con pesos propios, sin simulaciones Monte "
    "Carlo (el mapa los usa para re-ponderar en vivo). `weights` es una lista `clave:peso` de "
    "desafíos o indicadores del catálogo (422 nombra una clave desconocida). Las respuestas se "
    "guardan en caché por parámetros y estado de los datos. Las filas tienen la forma de "
    "`/scores`, sin los campos Monte Carlo, con su `view` (con `region`, los puntajes se "
    "re-escalan dentro de la región: `rescaled` y sin lugar nacional) y `notes` (indicadores "
    "fuera del ámbito por la regla de comparabilidad). Sólo se calculan los puntajes y sus "
    "explicaciones (los mismos de una corrida guardada con esos parámetros); los agrupamientos "
    "y el Moran local son de las corridas guardadas (`/clusters`, `/groups`).",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "parameters": {"region": "04", "normalization": "minmax"},
                        "cached": False,
                        "total": 15,
                        "next": None,
                        "scores": [
                            {
                                "cut": "04303",
                                "name": "Monte Patria",
                                "challenge": "agua",
                                "score": 0.7,
                                "rank": 2,
                                "rank_label": "2 de 15",
                            }
                        ],
                    }
                }
            }
        }
    },
)
def gaps(
    request: Request,
    store: StoreDep,
    caches: CachesDep,
    settings: SettingsDep,
    region: RegionQuery = None,
    challenge: Annotated[
        str | None, Query(description="Desafío a devolver (todos si falta).", examples=["agua"])
    ] = None,
    normalization: Annotated[
        Literal["minmax", "zscore", "rank", "target"], Query(description="Normalización.")
    ] = "minmax",
    aggregation: Annotated[
        Literal["arithmetic", "geometric"], Query(description="Agregación.")
    ] = "arithmetic",
    weights: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="Pesos `clave:peso` separados por comas, cada uno entre 0 y "
            f"{MAX_WEIGHT:g}.",
            examples=["agua:2,conectividad:1,agua_sin_red_publica:0.5"],
        ),
    ] = None,
    limit: LimitQuery = 1000,
    offset: OffsetQuery = 0,
) -> Response:
    """Scores computed on request, cached by parameters and store state."""
    # Returned as the response itself: FastAPI's own encoding of a dict walks every value of
    # every row again, which cost more than scoring a region.
    return SafeJSONResponse(
        gaps_answer(
            request,
            store,
            caches,
            settings,
            region=region,
            challenge=challenge,
            normalization=normalization,
            aggregation=aggregation,
            weights=weights,
            limit=limit,
            offset=offset,
        )
    )


def gaps_answer(
    request: Request,
    store: Store,
    caches: Caches,
    settings: Settings,
    *,
    region: str | None,
    challenge: str | None,
    normalization: Literal["minmax", "zscore", "rank", "target"],
    aggregation: Literal["arithmetic", "geometric"],
    weights: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """The body of ``GET /gaps`` (the priorities CSV with weights writes it too)."""
    catalogue = load_catalogue()
    check_challenge(challenge, catalogue.score_ids)
    challenge_weights, indicator_weights = parse_weights(weights)
    parameters = ScoringParameters(
        region=region,
        normalization=normalization,
        aggregation=aggregation,
        draws=0,
        seed=settings.random_seed,
        challenge_weights=challenge_weights,
        indicator_weights=indicator_weights,
        moran_permutations=LIVE_MORAN_PERMUTATIONS,
    )
    state = caches.data_state(store)
    answer, was_cached = caches.shared(
        store,
        "gaps",
        answer_key(parameters, catalogue),
        lambda: computed_answer(store, caches, state, parameters, catalogue),
        state=state,
        encode=_encode_answer,
        decode=_decode_answer,
    )
    rows = answer["rows"]
    if challenge is not None:
        rows = [row for row in rows if row["challenge"] == challenge]
    if rows and all(row.get("score") is None for row in rows):
        raise BadParameterError(
            "Asigne peso a al menos un indicador con datos en el ámbito pedido: con estos pesos "
            "ninguna comuna tiene puntaje"
        )
    total = len(rows)
    # Rows are shared through the cache: the view's answer is written on copies, for the page
    # only; ties are counted among every row of the scope.
    page = with_view(
        [dict(row) for row in rows[offset : offset + limit]],
        region=region,
        within_region=region is not None,
        scope_rows=rows,
    )
    notes = {
        score_id: note
        for score_id, note in answer["notes"].items()
        if challenge is None or score_id == challenge
    }
    return {
        "parameters": {
            "region": region,
            "challenge": challenge,
            "normalization": normalization,
            "aggregation": aggregation,
            "challenge_weights": challenge_weights,
            "indicator_weights": indicator_weights,
            "draws": 0,
        },
        "cached": was_cached,
        # Indicators the comparability rule leaves out of this scope, said once per challenge.
        "notes": notes,
        **page_links(request, total, limit, offset),
        "scores": page,
    }


def answer_key(parameters: ScoringParameters, catalogue: Catalogue) -> str:
    """Hex digest naming a ``/gaps`` answer: parameters, catalogue and software version."""
    # "rows+notes": the shape of the cached answer, so no worker reads an older shape.
    text = f"{__version__}|rows+notes|{catalogue.model_dump_json()}|{parameters.model_dump_json()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def computed_answer(
    store: Store,
    caches: Caches,
    state: str,
    parameters: ScoringParameters,
    catalogue: Catalogue,
) -> dict[str, Any]:
    """Score without Monte Carlo: every row of every challenge as the API shows it, and the notes.

    Only the scores are computed (:func:`analysis.scoring.live_scores`): clusters, groups and
    the other tables of a stored run are not part of this answer. ``notes`` names, per
    challenge, the indicators the comparability rule leaves out of this scope.
    """
    raw = analysis_inputs(store, caches, state)[1]
    try:
        result = live_scores(raw, parameters, catalogue)
    except ValidationError as error:  # weights the catalogue cannot take (all zero...)
        raise refused_input(error) from None
    ranked = {s: result.ranked_count(s) for s in result.catalogue.score_ids}
    stats = region_counts(result.scores)
    scores = result.scores.sort_values(["challenge", "rank", "cut"], na_position="last")
    monte_carlo = [c for c in scores.columns if c.startswith(("median_rank", "rank_p", "top_tier"))]
    region = parameters.region
    rows = score_rows(scores.drop(columns=monte_carlo), None, stats, {} if region else ranked)
    if region is not None:
        # Compared within the region: the rank is the regional rank.
        for row in rows:
            row["rank_region"] = row.get("rank")
            row["region_total"] = stats.get((row["challenge"], region))
            row["rank_region_label"] = row["rank_label"] = _label(row)
    notes = result.notes
    return {"rows": rows, "notes": dict(zip(notes["challenge"], notes["note"], strict=True))}


def _encode_answer(answer: dict[str, Any]) -> bytes:
    """An answer as gzip-compressed JSON, as it is shared through the store."""
    return gzip.compress(orjson.dumps(answer), 1)


def _decode_answer(content: bytes) -> dict[str, Any]:
    answer: dict[str, Any] = orjson.loads(gzip.decompress(content))
    return answer


def _label(row: dict[str, Any]) -> str | None:
    from analysis.formatting import rank_of

    if row.get("rank") is None or not row.get("region_total"):
        return None
    return rank_of(row["rank"], row["region_total"])
