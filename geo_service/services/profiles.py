"""Commune profiles: the part that comes from a stored run, built once when the run is saved.

A profile (``GET /communes/{cut}``, the printable ``/comunas/{cut}``) has two halves:

* the **scored** half — indicators with their catalogue metadata, each challenge's scores and
  ranks with their interval, cluster and proposed group, and the plain-Spanish explanation. It
  is a pure function of the stored run, so :func:`scored_profiles` builds it for every commune
  when the run is saved and the run keeps it among its tables (:data:`PROFILES_TABLE`): serving
  a profile then never scores or explains anything;
* the **context** half — identity, APR systems, facilities, Huella Local and projects — which
  follows the data loaded today, read for all communes at once by :func:`commune_context` and
  kept per store state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from analysis import ScoringResult, explain_communes
from analysis.view import place_counts, view_answer
from geo_service.services.coverage import coverage_of
from geo_service.services.rows import clean, records, region_counts, score_rows
from layers.runs import NATIONAL_SCOPE, RunRecord
from layers.stores import Store

#: Name of the run table holding one JSON document per commune (columns ``cut``, ``json``).
PROFILES_TABLE = "profiles"
#: Name of the run table saying which dataset supplied each commune's value of each indicator
#: (:func:`analysis.sources.indicator_sources`). Like the notes it is kept beside the digested
#: tables, not in ``result_sha256``: it follows from the run's inputs, which the run id hashes.
SOURCES_TABLE = "sources"

#: Identity columns of a profile, in the order they are shown.
IDENTITY = [
    "cut",
    "name",
    "province_code",
    "province_name",
    "region_code",
    "region_name",
    "area_km2",
]


def scored_profiles(
    result: ScoringResult,
    run: RunRecord,
    cuts: Iterable[str] | None = None,
    sources: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The run-derived half of the profile of each commune in ``result`` (or of ``cuts``).

    Parameters
    ----------
    result : ScoringResult
        The run's result (freshly scored, or rebuilt from the stored tables).
    run : RunRecord
        The run's record (scope and ranked counts for the "n de N" labels).
    cuts : iterable of str, optional
        Five-digit commune codes; all communes of the result when omitted.
    sources : mapping, optional
        ``{cut: {indicator id: dataset}}`` recorded with the run (:func:`sources_by_cut`);
        each indicator item then says which dataset supplied its value (``source_dataset``,
        None without a value). Runs recorded without sources leave the key out.

    Returns
    -------
    dict
        ``{cut: {"indicators": [...], "scores": [...], "explanation": str | None}}``.
    """
    catalogue = result.catalogue
    wanted = set(result.scores["cut"]) if cuts is None else {str(c).zfill(5) for c in cuts}
    own = result.scores[result.scores["cut"].isin(wanted)]
    # One pass over all rows: per-commune frames cost more in pandas than the rows themselves.
    rows_by_cut: dict[str, list[dict[str, Any]]] = {}
    places = records(result.scores[["challenge", "region_code", "rank", "rank_region"]])
    ties = {regional: place_counts(places, regional=regional) for regional in (False, True)}
    regional_run = run.scope != NATIONAL_SCOPE
    for row in score_rows(own, run, region_counts(result.scores), run.ranked_counts):
        # The commune's answer in the national view and in its region's view of this run; a
        # regional run is scored within its region, so both are that regional view.
        row["view_region"] = view_answer(
            row, region=row["region_code"], within_region=regional_run, ties=ties[not regional_run]
        )
        row["view"] = (
            row["view_region"]
            if regional_run
            else view_answer(row, region=None, within_region=False, ties=ties[False])
        )
        rows_by_cut.setdefault(str(row["cut"]), []).append(row)
    clusters = _by_cut_and_challenge(result.clusters, wanted)
    groups = _by_cut_and_challenge(result.groups, wanted)
    explanations = _explanations(result, wanted)
    indicator_values = _indicator_values(result, wanted)
    profiles: dict[str, dict[str, Any]] = {}
    for cut in sorted(wanted):
        rows = rows_by_cut.get(cut, [])
        for row in rows:
            challenge = row["challenge"]
            row["label"] = catalogue.label_of(challenge)
            row["interval_label"] = row["view"]["interval_label"]
            row["cluster"] = clusters.get((cut, challenge))
            row["group"] = groups.get((cut, challenge))
        profiles[cut] = {
            "indicators": _indicator_items(
                result,
                indicator_values.get(cut),
                None if sources is None else sources.get(cut, {}),
            ),
            "scores": rows,
            "explanation": explanations.get(cut),
        }
    return profiles


def _indicator_values(result: ScoringResult, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """Raw and normalised indicator values of each wanted commune, JSON-ready."""
    columns = ["cut"]
    for indicator in result.catalogue.indicators:
        columns += [indicator.column, f"{indicator.column}_norm"]
    present = [c for c in dict.fromkeys(columns) if c in result.indicators.columns]
    frame = result.indicators.loc[result.indicators["cut"].isin(wanted), present]
    return {str(row["cut"]): row for row in records(frame)}


def _indicator_items(
    result: ScoringResult,
    values: dict[str, Any] | None,
    sources: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Each catalogue indicator of one commune with unit, year, source, value and weight.

    With ``sources`` (the run recorded them), ``source_dataset`` names the dataset that
    supplied the value.
    """
    if values is None:
        return []
    items: list[dict[str, Any]] = clean(
        [
            {
                "id": indicator.id,
                "challenge": indicator.challenge,
                "label": indicator.label,
                "unit": indicator.unit,
                "year": indicator.year,
                "source": indicator.source,
                "dataset": indicator.dataset,
                "value": values.get(indicator.column),
                "normalised": values.get(f"{indicator.column}_norm"),
                "weight": indicator.weight,
            }
            for indicator in result.catalogue.indicators
        ]
    )
    if sources is not None:
        for item in items:
            item["source_dataset"] = sources.get(item["id"])
    return items


def sources_by_cut(table: pd.DataFrame) -> dict[str, dict[str, str]]:
    """``{cut: {indicator: dataset}}`` of a run's sources table (``cut, indicator, dataset``)."""
    by_cut: dict[str, dict[str, str]] = {}
    for cut, indicator, dataset in table[["cut", "indicator", "dataset"]].itertuples(index=False):
        by_cut.setdefault(str(cut), {})[str(indicator)] = str(dataset)
    return by_cut


def _by_cut_and_challenge(
    frame: pd.DataFrame, wanted: set[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """One JSON-ready row per (cut, challenge) of a run table (clusters, groups)."""
    if frame.empty or "cut" not in frame.columns:
        return {}
    rows = records(frame[frame["cut"].isin(wanted)])
    return {(str(row["cut"]), str(row["challenge"])): row for row in rows}


def _explanations(result: ScoringResult, wanted: set[str]) -> dict[str, str | None]:
    """The plain-Spanish explanation of each wanted commune (None where it is not scored)."""
    scored = sorted(wanted & set(result.scores["cut"]))
    texts: dict[str, str | None] = dict.fromkeys(sorted(wanted))
    texts.update(explain_communes(result, scored))
    return texts


def profiles_table(profiles: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The :data:`PROFILES_TABLE` run table: one compact JSON document per commune."""
    return pd.DataFrame(
        {
            "cut": list(profiles),
            "json": [
                json.dumps(profile, ensure_ascii=False, separators=(",", ":"))
                for profile in profiles.values()
            ],
        }
    )


def profiles_from_table(table: pd.DataFrame) -> dict[str, str]:
    """``{cut: JSON text}`` of a stored :data:`PROFILES_TABLE` (parsed on use, not here)."""
    return dict(zip(table["cut"].astype(str), table["json"].astype(str), strict=True))


def stored_profiles(store: Store, run: RunRecord) -> dict[str, str] | None:
    """``{cut: JSON text}`` kept with ``run``; None for a run saved before profiles were kept."""
    tables = store.run_tables(run.run_id, names=[PROFILES_TABLE])
    if PROFILES_TABLE not in tables:
        return None
    return profiles_from_table(tables[PROFILES_TABLE])


def stored_sources(store: Store, run: RunRecord) -> dict[str, dict[str, str]] | None:
    """``{cut: {indicator: dataset}}`` recorded with ``run``; None for a run saved without it."""
    tables = store.run_tables(run.run_id, names=[SOURCES_TABLE])
    return sources_by_cut(tables[SOURCES_TABLE]) if SOURCES_TABLE in tables else None


def commune_context(store: Store) -> dict[str, dict[str, Any]]:
    """Identity and the data-derived half of every commune's profile, from four reads.

    Returns
    -------
    dict
        ``{cut: {identity..., "apr": ..., "facilities": ..., "huella_local": ...,
        "projects": ...}}`` for every loaded commune.
    """
    identity = records(store.read("communes", columns=IDENTITY, order=["cut"]))
    apr = store.read("apr_systems", columns=["cut", "beneficiaries", "connections", "status"])
    facilities = store.read("facilities", columns=["cut", "category"])
    huella = store.read("huella_presence", columns=["cut", "intervention"])
    projects = store.read(
        "project_sites",
        columns=["cut", "project_id", "name", "typology", "stage", "total_investment_clp"],
        order=["cut", "project_id"],
    )
    apr_coverage = coverage_of("apr_systems", apr, len(identity))
    projects_coverage = coverage_of("project_sites", projects, len(identity))
    apr_by_cut = dict(tuple(apr.groupby("cut")))
    facilities_by_cut = dict(tuple(facilities.groupby("cut")))
    huella_by_cut = dict(tuple(huella.groupby("cut")))
    projects_by_cut = dict(tuple(projects.groupby("cut")))
    context: dict[str, dict[str, Any]] = {}
    for row in identity:
        cut = str(row["cut"])
        context[cut] = {
            **row,
            **_context_of(
                apr_by_cut.get(cut, apr.iloc[:0]),
                facilities_by_cut.get(cut, facilities.iloc[:0]),
                huella_by_cut.get(cut, huella.iloc[:0]),
                projects_by_cut.get(cut, projects.iloc[:0]),
            ),
        }
        # A layer that does not cover the commune gives no value, not zeros.
        for part, coverage in (("apr", apr_coverage), ("projects", projects_coverage)):
            context[cut][part]["coverage"] = coverage.sentence()
            if not coverage.covers(cut):
                context[cut][part] = _not_covered(context[cut][part], coverage.reason())
    return context


def _not_covered(summary: dict[str, Any], reason: str) -> dict[str, Any]:
    """A layer summary of a commune the layer does not cover: counts null, with the reason."""
    blank: dict[str, Any] = {
        key: ([] if isinstance(value, list) else {} if isinstance(value, dict) else None)
        for key, value in summary.items()
    }
    return {**blank, "covered": False, "reason": reason, "coverage": summary["coverage"]}


def _context_of(
    apr: pd.DataFrame, facilities: pd.DataFrame, huella: pd.DataFrame, projects: pd.DataFrame
) -> dict[str, Any]:
    """APR summary, facility counts, Huella Local presence and projects of one commune."""
    return {
        "apr": {
            "covered": True,
            "reason": None,
            "systems": len(apr),
            "beneficiaries": float(apr["beneficiaries"].sum()) if len(apr) else 0.0,
            "connections": float(apr["connections"].sum()) if len(apr) else 0.0,
            "by_status": {str(k): int(v) for k, v in apr["status"].value_counts().items()},
        },
        "facilities": {
            str(k): int(v) for k, v in facilities["category"].value_counts().sort_index().items()
        },
        "huella_local": {
            "present": not huella.empty,
            "interventions": sorted(set(huella["intervention"])),
        },
        "projects": {
            "covered": True,
            "reason": None,
            "total": len(projects),
            "investment_clp": float(pd.to_numeric(projects["total_investment_clp"]).sum()),
            "items": records(projects.drop(columns=["cut"])),
        },
    }
