"""A Mesa de Convergencia's project portfolio set against the commune's gap drivers.

Each project typology addresses the challenges the catalogue gives it (``[[typologies]]``).
Per commune this module reports the investment and the private contribution by typology and
stage, which challenges those projects are aimed at, which high gaps no project is aimed at,
and the typology suggested for the commune's top gap driver.

A project of a typology that addresses two challenges counts in full towards each, so the
per-challenge amounts are not additive across challenges (the per-typology ones are).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.challenges import Catalogue
from analysis.indicators import fold_series
from domain.errors import InvalidInputError, UnknownIdError
from domain.text import fold

#: Stage written when a project has none.
NO_STAGE = "sin etapa"
#: Intervention code of a Mesa de Convergencia in ``huella_presence``.
MESA_INTERVENTION = "mesa_convergencia"
#: Where a commune's projects come from when no Mesa recorded initiatives for it.
PROJECT_SITES_SOURCE = "conjunto cargado project_sites"
#: What a commune without any project says about the source of its portfolio.
NO_PORTFOLIO_SOURCE = "sin proyectos (ni iniciativas de mesa ni project_sites)"
#: Columns of a portfolio's projects, whichever source they come from.
PROJECT_COLUMNS = (
    "cut",
    "project_id",
    "name",
    "typology",
    "stage",
    "total_investment_clp",
    "private_contribution_clp",
    "portfolio_source",
)

COMMUNE_COLUMNS = (
    "cut",
    "name",
    "region_code",
    "huella_presence",
    "mesa_convergencia",
    "huella_interventions",
    "portfolio_source",
    "projects_total",
    "projects_without_amount",
    "total_investment_clp",
    "private_contribution_clp",
    "projects_on_high_gap",
    "projects_on_high_gap_share",
    "investment_on_high_gap_clp",
    "high_gap_challenges",
    "high_gap_without_project",
    "unaddressed_high_gaps",
    "top_driver",
    "top_driver_label",
    "top_driver_rank",
    "top_driver_ranked",
    "top_driver_tier",
    "top_driver_is_high_gap",
    "top_driver_addressed",
    "suggested_typology",
    "suggested_typology_label",
    "suggestion",
)


@dataclass(frozen=True)
class PortfolioReview:
    """The portfolio of every commune in scope against its gaps.

    Attributes
    ----------
    communes : pandas.DataFrame
        One row per commune (:data:`COMMUNE_COLUMNS`), sorted by CUT.
    challenges : pandas.DataFrame
        One row per commune and challenge: ``cut, challenge, challenge_label, score, rank,
        ranked, tier, high_gap, projects_aimed, investment_aimed_clp, private_aimed_clp,
        high_gap_without_project``.
    investments : pandas.DataFrame
        One row per commune, typology and stage with projects: ``cut, typology,
        typology_label, stage, projects, projects_without_amount, total_investment_clp,
        private_contribution_clp, challenges, challenge_labels, aimed_at_high_gap``.
    projects : pandas.DataFrame
        The projects of the communes in scope with ``typology_label``, ``challenge_labels``
        and ``aimed_at_high_gap``.
    priority_tiers : int
        Tiers counted as high gap (1 = only the top tier).
    """

    communes: pd.DataFrame
    challenges: pd.DataFrame
    investments: pd.DataFrame
    projects: pd.DataFrame
    priority_tiers: int

    def commune(self, cut: str) -> PortfolioReview:
        """Return the review restricted to one commune.

        Raises
        ------
        UnknownIdError
            If the commune is not in the review (also a ``KeyError``).
        """
        if cut not in set(self.communes["cut"]):
            raise UnknownIdError(f"comuna {cut!r} fuera del alcance del portafolio")
        return PortfolioReview(
            communes=self.communes[self.communes["cut"] == cut].reset_index(drop=True),
            challenges=self.challenges[self.challenges["cut"] == cut].reset_index(drop=True),
            investments=self.investments[self.investments["cut"] == cut].reset_index(drop=True),
            projects=self.projects[self.projects["cut"] == cut].reset_index(drop=True),
            priority_tiers=self.priority_tiers,
        )


def choose_portfolio(initiatives: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
    """Each commune's portfolio from one source: its Mesas' initiatives, else ``project_sites``.

    One source per fact: a commune with initiatives recorded by a Mesa takes only those (the
    Mesa keeps its own portfolio, which may have been imported from ``project_sites``), and
    the loaded ``project_sites`` rows of that commune are left out; never both summed.

    Parameters
    ----------
    initiatives : pandas.DataFrame
        The Mesas' initiatives as projects (:data:`PROJECT_COLUMNS`, ``portfolio_source``
        naming the Mesa).
    projects : pandas.DataFrame
        Table ``project_sites``.

    Returns
    -------
    pandas.DataFrame
        :data:`PROJECT_COLUMNS` (``portfolio_source`` says where each row comes from).
    """
    with_mesa = set(initiatives["cut"].astype(str)) if len(initiatives) else set()
    loaded = projects[~projects["cut"].astype(str).isin(with_mesa)].assign(
        portfolio_source=PROJECT_SITES_SOURCE
    )
    parts = [
        frame[list(PROJECT_COLUMNS)].astype({"cut": str, "project_id": str})
        for frame in (initiatives, loaded)
        if len(frame)
    ]
    if not parts:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in PROJECT_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def review_portfolio(
    communes: pd.DataFrame,
    scores: pd.DataFrame,
    projects: pd.DataFrame,
    presence: pd.DataFrame,
    catalogue: Catalogue,
    priority_tiers: int = 1,
) -> PortfolioReview:
    """Set each commune's projects against its gap drivers.

    Parameters
    ----------
    communes : pandas.DataFrame
        ``cut``, ``name``, ``region_code`` of the communes in scope.
    scores : pandas.DataFrame
        Long gap scores (``cut, challenge, score, rank, tier``) of one run, e.g. the rows of
        ``score_results``; the composite and communes out of scope are ignored. Ranks are
        compared across challenges as ``rank / ranked`` (``ranked``: communes with a score
        for that challenge among the rows given).
    projects : pandas.DataFrame
        Table ``project_sites`` (``cut, project_id, name, typology, stage,
        total_investment_clp, private_contribution_clp``), or the portfolio made by
        :func:`choose_portfolio` (its ``portfolio_source`` names each commune's source).
    presence : pandas.DataFrame
        Table ``huella_presence`` (``cut, intervention``).
    catalogue : Catalogue
        Challenges and typologies (``[[typologies]]``).
    priority_tiers : int
        A challenge is a high gap of a commune when its tier is at most this.

    Returns
    -------
    PortfolioReview
        The commune, challenge, investment and project tables.

    Raises
    ------
    InvalidInputError
        If the catalogue has no typologies or a project's typology is not in it (also a
        ``ValueError``).
    """
    if not catalogue.typologies:
        raise InvalidInputError("El catálogo no declara tipologías de proyectos ([[typologies]])")
    table = communes[["cut", "name", "region_code"]].copy()
    table["cut"] = table["cut"].astype(str)
    table = table.drop_duplicates("cut").sort_values("cut").reset_index(drop=True)
    cuts = pd.Index(table["cut"])

    typology_of = {fold(t.id): t for t in catalogue.typologies}
    chosen = projects[projects["cut"].astype(str).isin(cuts)].copy()
    chosen["cut"] = chosen["cut"].astype(str)
    if "portfolio_source" not in chosen.columns:
        chosen["portfolio_source"] = PROJECT_SITES_SOURCE
    folded = fold_series(chosen["typology"]) if len(chosen) else pd.Series(dtype=object)
    unknown = sorted(
        {str(v) for v, f in zip(chosen["typology"], folded, strict=True) if f not in typology_of}
    )
    if unknown:
        raise InvalidInputError(
            f"Tipologías de proyecto sin desafíos en el catálogo: {', '.join(unknown)}; "
            f"conocidas: {', '.join(t.id for t in catalogue.typologies)}"
        )
    chosen["typology"] = [typology_of[f].id for f in folded]
    chosen["stage"] = [
        NO_STAGE if _blank(stage) else str(stage).strip() for stage in chosen["stage"]
    ]
    for column in ("total_investment_clp", "private_contribution_clp"):
        chosen[column] = pd.to_numeric(chosen[column], errors="coerce")

    gaps = _challenge_gaps(cuts, scores, catalogue, priority_tiers)
    high = gaps.pivot(index="cut", columns="challenge", values="high_gap").reindex(
        index=cuts, columns=list(catalogue.challenge_ids)
    )
    chosen["challenges"] = [typology_of[fold(t)].challenges for t in chosen["typology"]]
    chosen["aimed_at_high_gap"] = [
        any(bool(high.at[cut, c]) for c in aimed)
        for cut, aimed in zip(chosen["cut"], chosen["challenges"], strict=True)
    ]
    labels = {c.id: c.label for c in catalogue.challenges}
    chosen["typology_label"] = [typology_of[fold(t)].label for t in chosen["typology"]]
    chosen["challenge_labels"] = [
        ", ".join(labels[c] for c in aimed) for aimed in chosen["challenges"]
    ]

    gaps = _aim_projects(gaps, chosen)
    review_communes = _commune_table(table, gaps, chosen, presence, catalogue)
    investments = _investment_table(chosen, catalogue, labels)
    project_columns = [
        "cut",
        "project_id",
        "name",
        "typology",
        "typology_label",
        "stage",
        "total_investment_clp",
        "private_contribution_clp",
        "challenge_labels",
        "aimed_at_high_gap",
        "portfolio_source",
    ]
    project_table = chosen.sort_values(["cut", "project_id"])[project_columns].reset_index(
        drop=True
    )
    return PortfolioReview(
        communes=review_communes,
        challenges=gaps.reset_index(drop=True),
        investments=investments,
        projects=project_table,
        priority_tiers=priority_tiers,
    )


def _blank(value: object) -> bool:
    return (
        value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip()
    )


def _challenge_gaps(
    cuts: pd.Index, scores: pd.DataFrame, catalogue: Catalogue, priority_tiers: int
) -> pd.DataFrame:
    """One row per commune and challenge with score, rank, tier and the high-gap flag."""
    rows = scores[scores["challenge"].isin(catalogue.challenge_ids)].copy()
    rows["cut"] = rows["cut"].astype(str)
    for column in ("score", "rank", "tier"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(float)
    # Counted over every row given (the run's scope), as the ranks are: "30 de 345", not "de 15".
    ranked = rows.groupby("challenge")["score"].count()
    rows = rows[rows["cut"].isin(cuts)]
    grid = pd.MultiIndex.from_product([cuts, catalogue.challenge_ids], names=["cut", "challenge"])
    gaps = (
        rows.drop_duplicates(["cut", "challenge"])
        .set_index(["cut", "challenge"])[["score", "rank", "tier"]]
        .reindex(grid)
        .reset_index()
    )
    gaps.insert(2, "challenge_label", [catalogue.label_of(c) for c in gaps["challenge"]])
    gaps["ranked"] = [int(ranked.get(c, 0)) for c in gaps["challenge"]]
    gaps["high_gap"] = (gaps["tier"] <= priority_tiers).fillna(False).astype(bool)
    return gaps


def _aim_projects(gaps: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
    """Add the projects, investment and private money aimed at each commune's challenges."""
    aimed = projects.explode("challenges").rename(columns={"challenges": "challenge"})
    totals = aimed.groupby(["cut", "challenge"]).agg(
        projects_aimed=("project_id", "count"),
        investment_aimed_clp=("total_investment_clp", lambda v: v.sum(min_count=1)),
        private_aimed_clp=("private_contribution_clp", lambda v: v.sum(min_count=1)),
    )
    merged = gaps.join(totals, on=["cut", "challenge"])
    merged["projects_aimed"] = merged["projects_aimed"].fillna(0).astype(int)
    for column in ("investment_aimed_clp", "private_aimed_clp"):
        merged[column] = merged[column].astype(float)
    merged["high_gap_without_project"] = merged["high_gap"] & (merged["projects_aimed"] == 0)
    return merged


def _commune_table(
    table: pd.DataFrame,
    gaps: pd.DataFrame,
    projects: pd.DataFrame,
    presence: pd.DataFrame,
    catalogue: Catalogue,
) -> pd.DataFrame:
    cuts = pd.Index(table["cut"])
    present = presence.assign(cut=presence["cut"].astype(str))
    interventions = (
        present.groupby("cut")["intervention"]
        .agg(lambda values: ", ".join(sorted({str(v) for v in values})))
        .reindex(cuts)
    )
    table["huella_presence"] = interventions.notna().to_numpy()
    table["mesa_convergencia"] = [
        MESA_INTERVENTION in str(value).split(", ") for value in interventions.fillna("")
    ]
    table["huella_interventions"] = interventions.fillna("").to_numpy()

    by_cut = projects.groupby("cut")
    # One source per commune (choose_portfolio never mixes them); said even without projects.
    table["portfolio_source"] = (
        by_cut["portfolio_source"].first().reindex(cuts).fillna(NO_PORTFOLIO_SOURCE).to_numpy()
        if len(projects)
        else NO_PORTFOLIO_SOURCE
    )
    table["projects_total"] = by_cut.size().reindex(cuts).fillna(0).astype(int).to_numpy()
    table["projects_without_amount"] = (
        by_cut["total_investment_clp"]
        .apply(lambda v: int(v.isna().sum()))
        .reindex(cuts)
        .fillna(0)
        .astype(int)
        .to_numpy()
    )
    for column in ("total_investment_clp", "private_contribution_clp"):
        table[column] = (
            by_cut[column].sum(min_count=1).reindex(cuts).astype(float).to_numpy()
            if len(projects)
            else np.full(len(table), np.nan)
        )
    # As a boolean mask even when no project is in scope (an empty list would select columns).
    on_high = projects[projects["aimed_at_high_gap"].astype(bool).to_numpy()].groupby("cut")
    table["projects_on_high_gap"] = on_high.size().reindex(cuts).fillna(0).astype(int).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        table["projects_on_high_gap_share"] = np.where(
            table["projects_total"] > 0,
            table["projects_on_high_gap"]
            / table["projects_total"].where(table["projects_total"] > 0, 1),
            np.nan,
        )
    table["investment_on_high_gap_clp"] = (
        on_high["total_investment_clp"].sum(min_count=1).reindex(cuts).astype(float).to_numpy()
        if len(projects)
        else np.full(len(table), np.nan)
    )

    grouped = gaps.groupby("cut", sort=False)
    high_labels = {cut: ", ".join(g.loc[g["high_gap"], "challenge_label"]) for cut, g in grouped}
    unaddressed = {
        cut: ", ".join(g.loc[g["high_gap_without_project"], "challenge_label"])
        for cut, g in grouped
    }
    table["high_gap_challenges"] = [high_labels.get(cut, "") for cut in cuts]
    table["unaddressed_high_gaps"] = [unaddressed.get(cut, "") for cut in cuts]
    table["high_gap_without_project"] = table["unaddressed_high_gaps"] != ""

    drivers = [_top_driver(gaps_of, catalogue) for _, gaps_of in grouped]
    driver_table = pd.DataFrame(drivers, index=[cut for cut, _ in grouped]).reindex(cuts)
    for column in driver_table.columns:
        table[column] = driver_table[column].to_numpy()
    return table[list(COMMUNE_COLUMNS)].reset_index(drop=True)


def _top_driver(gaps: pd.DataFrame, catalogue: Catalogue) -> dict[str, object]:
    """The challenge where the commune stands worst relative to the others, and its typology.

    Positions are compared as ``rank / ranked`` so a challenge scored for fewer communes is
    not favoured; ties go to the catalogue order.
    """
    scored = gaps[gaps["rank"].notna() & (gaps["ranked"] > 0)]
    if scored.empty:
        return {
            "top_driver": None,
            "top_driver_label": None,
            "top_driver_rank": math.nan,
            "top_driver_ranked": 0,
            "top_driver_tier": math.nan,
            "top_driver_is_high_gap": False,
            "top_driver_addressed": False,
            "suggested_typology": None,
            "suggested_typology_label": None,
            "suggestion": "Sin puntajes de brecha para esta comuna.",
        }
    position = (scored["rank"] / scored["ranked"]).to_numpy()
    order = np.array([catalogue.challenge_ids.index(c) for c in scored["challenge"]])
    best = scored.iloc[int(np.lexsort((order, position))[0])]
    typologies = catalogue.typologies_for(str(best["challenge"]))
    suggested = typologies[0] if typologies else None
    addressed = int(best["projects_aimed"]) > 0
    label = str(best["challenge_label"])
    if suggested is None:
        suggestion = f"Ninguna tipología del catálogo atiende «{label}»."
    elif addressed:
        suggestion = f"La cartera ya apunta a «{label}»; reforzar con {suggested.label.lower()}."
    elif bool(best["high_gap"]):
        suggestion = f"Brecha alta en «{label}» sin proyecto: considerar {suggested.label.lower()}."
    else:
        suggestion = (
            f"Mayor brecha relativa en «{label}» (no es brecha alta); la atiende la "
            f"tipología {suggested.label.lower()}."
        )
    return {
        "top_driver": str(best["challenge"]),
        "top_driver_label": label,
        "top_driver_rank": float(best["rank"]),
        "top_driver_ranked": int(best["ranked"]),
        "top_driver_tier": float(best["tier"]),
        "top_driver_is_high_gap": bool(best["high_gap"]),
        "top_driver_addressed": addressed,
        "suggested_typology": None if suggested is None else suggested.id,
        "suggested_typology_label": None if suggested is None else suggested.label,
        "suggestion": suggestion,
    }


def _investment_table(
    projects: pd.DataFrame, catalogue: Catalogue, labels: dict[str, str]
) -> pd.DataFrame:
    columns = [
        "cut",
        "typology",
        "typology_label",
        "stage",
        "projects",
        "projects_without_amount",
        "total_investment_clp",
        "private_contribution_clp",
        "challenges",
        "challenge_labels",
        "aimed_at_high_gap",
    ]
    if projects.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    table = (
        projects.groupby(["cut", "typology", "stage"], sort=True)
        .agg(
            projects=("project_id", "count"),
            projects_without_amount=("total_investment_clp", lambda v: int(v.isna().sum())),
            total_investment_clp=("total_investment_clp", lambda v: v.sum(min_count=1)),
            private_contribution_clp=("private_contribution_clp", lambda v: v.sum(min_count=1)),
            aimed_at_high_gap=("aimed_at_high_gap", "any"),
        )
        .reset_index()
    )
    by_id = {t.id: t for t in catalogue.typologies}
    table["typology_label"] = [by_id[t].label for t in table["typology"]]
    table["challenges"] = [", ".join(by_id[t].challenges) for t in table["typology"]]
    table["challenge_labels"] = [
        ", ".join(labels[c] for c in by_id[t].challenges) for t in table["typology"]
    ]
    return table[columns]
