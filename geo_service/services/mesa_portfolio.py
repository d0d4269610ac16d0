"""A loaded foundation portfolio copied into a Mesa's initiatives.

The portfolio file is loaded like every other file (``geogaps load-file`` / ``POST
/datasets/project_sites``: the loader's checks of typology, commune, amounts and places); its
projects in the Mesa's communes then become initiatives through the same rules as the API
(:data:`geo_service.services.mesas.RULES`), all or none, previewed first. Each initiative keeps
its ``origen`` (``<dataset>/<project_id>``), so importing again adds only what is new.

The public amount is the total investment minus the private contribution (the foundation's
totals include the private part), and only when both are known; a missing amount stays missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from domain.errors import ForbiddenError, InvalidInputError, NotFoundError
from geo_service.services.mesas import (
    COORDINATION,
    PreviewRollbackError,
    add_in,
    all_or_nothing,
    require_role,
    writing_context,
)
from layers.mesas import MesaRecords
from layers.stores import Store

PROJECT_COLUMNS = [
    "project_id",
    "cut",
    "name",
    "typology",
    "stage",
    "total_investment_clp",
    "private_contribution_clp",
    "geom",
]


def _amount(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else round(float(value))


def initiative_of(project: Mapping[Any, Any]) -> dict[str, Any]:
    """The initiative a portfolio project becomes (before the Mesa's rules check it)."""
    total = _amount(project.get("total_investment_clp"))
    private = _amount(project.get("private_contribution_clp"))
    point = project.get("geom")
    lon = lat = None
    if point is not None and not getattr(point, "is_empty", True):
        lon, lat = float(point.x), float(point.y)
    return {
        "nombre": project["name"],
        "tipologia": project["typology"],
        "etapa": project["stage"],
        "monto_publico_clp": total - private
        if total is not None and private is not None and total >= private
        else None,
        "monto_privado_clp": private,
        "comuna": project["cut"],
        "lon": lon,
        "lat": lat,
    }


def import_portfolio(
    store: Store,
    records: MesaRecords,
    caller: Mapping[str, Any],
    dataset: str,
    *,
    apply: bool,
) -> dict[str, Any]:
    """Preview (or, with ``apply``, make) the initiatives of a loaded portfolio, all or none.

    Raises
    ------
    domain.errors.NotFoundError
        The dataset has no project in the Mesa's communes.
    domain.errors.InvalidInputError
        Projects the Mesa's rules refuse (a stage that is not one of an initiative), each named.
    """
    require_role(caller, (COORDINATION,), "importar una cartera")
    mesa_id = caller["mesa_id"]
    projects = store.read(
        "project_sites",
        cuts=records.communes(mesa_id),
        equals={"dataset": dataset},
        columns=PROJECT_COLUMNS,
        order=["project_id"],
    )
    if projects.empty:
        raise NotFoundError(
            f"el conjunto {dataset!r} no tiene proyectos en las comunas de la mesa; "
            "cárguelo antes con geogaps load-file (tipo project_sites)"
        )
    outcome: dict[str, list[Any]] = {"changes": [], "problems": [], "skipped": []}
    try:
        with writing_context(store, records, caller) as ctx:
            known = {r.get("origen") for r in ctx.write.rows("iniciativa")}
            for project in projects.to_dict("records"):
                origin = f"{dataset}/{project['project_id']}"
                if origin in known:
                    outcome["skipped"].append(origin)
                    continue
                values = initiative_of(project)
                try:
                    row, _ = add_in(ctx, "iniciativa", values, {"origen": origin})
                except (InvalidInputError, ForbiddenError) as error:
                    outcome["problems"].append(f"proyecto {project['project_id']}: {error}")
                    continue
                outcome["changes"].append({"id": row["id"], "origen": origin, **values})
            all_or_nothing(outcome, apply, "la cartera")
    except PreviewRollbackError as preview:
        return {
            "aplicado": False,
            "iniciativas": preview.changes,
            "ya_importados": outcome["skipped"],
        }
    return {
        "aplicado": True,
        "iniciativas": outcome["changes"],
        "ya_importados": outcome["skipped"],
    }
