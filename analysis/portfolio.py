"""Huella Local portfolio set against the gaps: presence, projects and uncovered priorities."""

from __future__ import annotations

import pandas as pd

from analysis.indicators import fold_series
from domain.projects import PROJECT_TYPOLOGIES
from domain.text import fold

#: Project typologies of the project_sites table, and the column counting each
#: (``Espacios_Públicos`` → ``projects_espacios_publicos``).
TYPOLOGY_COLUMNS = {
    typology: "projects_" + "_".join(fold(word) for word in typology.split("_"))
    for typology in PROJECT_TYPOLOGIES
}


def portfolio_table(
    communes: pd.DataFrame,
    presence: pd.DataFrame,
    projects: pd.DataFrame,
    tiers: pd.DataFrame,
    composite_id: str,
    priority_tiers: int,
) -> pd.DataFrame:
    """Per commune of the scope: presence, projects by typology, money and uncovered gaps.

    Parameters
    ----------
    communes : pandas.DataFrame
        ``cut``, ``name``, ``region_code`` of the communes in scope.
    presence : pandas.DataFrame
        Table ``huella_presence`` (``cut``, ``intervention``).
    projects : pandas.DataFrame
        Table ``project_sites`` (``cut``, ``typology``, ``total_investment_clp``,
        ``private_contribution_clp``).
    tiers : pandas.DataFrame
        Point-estimate tier per commune, one column per challenge id and the composite,
        indexed by CUT.
    composite_id : str
        Column of ``tiers`` holding the composite.
    priority_tiers : int
        Tiers counted as high gap (1 = only the top tier).

    Returns
    -------
    pandas.DataFrame
        One row per commune in scope, sorted by CUT. ``total_investment_clp`` and
        ``private_contribution_clp`` sum the known amounts (``NaN`` when none is known);
        ``projects_without_amount`` counts projects without investment figure.
        ``high_gap_without_intervention`` is ``True`` for communes in a priority tier of the
        composite with neither Huella Local presence nor any project.
    """
    table = communes[["cut", "name", "region_code"]].sort_values("cut").reset_index(drop=True)
    index = pd.Index(table["cut"].astype(str))

    cuts = presence["cut"].astype(str)
    interventions = (
        presence.assign(cut=cuts)
        .groupby("cut")["intervention"]
        .agg(lambda values: ", ".join(sorted({str(v) for v in values})))
        .reindex(index)
    )
    table["huella_presence"] = interventions.notna().to_numpy()
    table["huella_interventions"] = interventions.fillna("").to_numpy()

    project_cuts = projects["cut"].astype(str)
    table["projects_total"] = (
        project_cuts.value_counts().reindex(index).fillna(0).astype(int).to_numpy()
    )
    folded_typology = fold_series(projects["typology"])
    for typology, column in TYPOLOGY_COLUMNS.items():
        chosen = project_cuts[(folded_typology == fold(typology)).to_numpy()]
        table[column] = chosen.value_counts().reindex(index).fillna(0).astype(int).to_numpy()
    for column in ("total_investment_clp", "private_contribution_clp"):
        amounts = pd.to_numeric(projects[column], errors="coerce")
        table[column] = (
            amounts.groupby(project_cuts.to_numpy()).sum(min_count=1).reindex(index).to_numpy()
        )
    unknown = pd.to_numeric(projects["total_investment_clp"], errors="coerce").isna()
    table["projects_without_amount"] = (
        project_cuts[unknown.to_numpy()]
        .value_counts()
        .reindex(index)
        .fillna(0)
        .astype(int)
        .to_numpy()
    )

    aligned = tiers.reindex(index)
    priority = aligned.le(priority_tiers)
    challenge_columns = [c for c in aligned.columns if c != composite_id]
    table["composite_tier"] = aligned[composite_id].to_numpy()
    table["priority_challenges"] = [
        ", ".join(c for c in challenge_columns if row[c]) for _, row in priority.iterrows()
    ]
    no_intervention = ~table["huella_presence"] & (table["projects_total"] == 0)
    table["high_gap_without_intervention"] = (
        priority[composite_id].to_numpy() & no_intervention.to_numpy()
    )
    return table
