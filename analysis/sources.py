"""Which dataset supplied each commune's value of each indicator (one source per fact).

The stores refuse a second active dataset for a fact (a commune and year of one indicator
table, see ``layers.constraints.FACT_SCOPES``), so every value has one source; this module
says which, by repeating the row choice :mod:`analysis.indicators` makes (latest year per
commune, the catalogue's population series, the preferred accessibility resolution). A value
computed from several tables (APR beneficiaries per rural inhabitant) names each of their
datasets, joined by `` + ``. The table is stored with every run, so a profile can show it.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from analysis.challenges import Catalogue, CatalogueSettings
from analysis.indicators import (
    _accessibility_rows,
    _latest_per_commune,
    _poverty_measure,
    population_by_area,
)
from analysis.inputs import AnalysisInputs

#: Columns of the sources table: one row per commune and indicator that has a value.
SOURCE_COLUMNS = ["cut", "indicator", "dataset"]
#: Joins the datasets of a value computed from several tables.
JOINER = " + "

Resolver = Callable[[AnalysisInputs, CatalogueSettings, pd.Index], pd.Series]


def _datasets_of(rows: pd.DataFrame, index: pd.Index) -> pd.Series:
    """The ``dataset`` of rows indexed by CUT, aligned on ``index`` (None where absent)."""
    if rows is None or len(rows) == 0 or "dataset" not in rows:
        return pd.Series(None, index=index, dtype=object)
    return rows["dataset"].reindex(index).astype(object).where(lambda s: s.notna(), None)


def _latest(table: str, column: str) -> Resolver:
    def resolve(inputs: AnalysisInputs, _: CatalogueSettings, index: pd.Index) -> pd.Series:
        frame = getattr(inputs, table)
        if column not in frame:
            return _datasets_of(pd.DataFrame(), index)
        return _datasets_of(_latest_per_commune(frame, column), index)

    return resolve


def _poverty(measure: str) -> Resolver:
    def resolve(inputs: AnalysisInputs, _: CatalogueSettings, index: pd.Index) -> pd.Series:
        return _datasets_of(_poverty_measure(inputs.poverty, measure, index), index)

    return resolve


def _population(inputs: AnalysisInputs, settings: CatalogueSettings, index: pd.Index) -> pd.Series:
    by_area, _ = population_by_area(inputs.population, settings)
    present = by_area.index.astype(str)
    return pd.Series(
        [settings.population_dataset if cut in present else None for cut in index],
        index=index,
        dtype=object,
    )


def _points(table: str) -> Resolver:
    """Datasets of a point or polygon layer in each commune; the whole layer where it has none.

    A commune without rows in a loaded layer has its value (0 settlements) from that layer.
    """

    def resolve(inputs: AnalysisInputs, _: CatalogueSettings, index: pd.Index) -> pd.Series:
        frame: pd.DataFrame = getattr(inputs, table)
        if len(frame) == 0:
            return _datasets_of(pd.DataFrame(), index)
        names = frame.assign(cut=frame["cut"].astype(str)).groupby("cut")["dataset"]
        joined = names.agg(lambda d: JOINER.join(sorted(set(map(str, d)))))
        everywhere = JOINER.join(sorted(set(map(str, frame["dataset"]))))
        aligned: pd.Series = joined.reindex(index).astype(object)
        return aligned.where(aligned.notna(), everywhere)

    return resolve


def _accessibility(kind: str) -> Resolver:
    def resolve(inputs: AnalysisInputs, settings: CatalogueSettings, index: pd.Index) -> pd.Series:
        rows = _accessibility_rows(inputs.accessibility, settings)
        if len(rows) == 0:
            return _datasets_of(pd.DataFrame(), index)
        of_kind = rows[rows["facility"] == kind].set_index("cut")
        return _datasets_of(of_kind, index)

    return resolve


def _communes(inputs: AnalysisInputs, _: CatalogueSettings, index: pd.Index) -> pd.Series:
    communes = inputs.communes.assign(cut=inputs.communes["cut"].astype(str)).set_index("cut")
    return _datasets_of(communes, index)


_WATER = _latest("water_sources", "dwellings_with_data")
_OWN_INCOME = _latest("municipal_finance", "own_income_per_capita_mclp")
_APR = _points("apr_systems")

#: Indicator column of :func:`analysis.indicators.compute_indicators` → tables it reads.
RESOLVERS: dict[str, tuple[Resolver, ...]] = {
    "agua_sin_red_publica": (_WATER,),
    "agua_fuente_precaria": (_WATER,),
    "agua_camion_rio_pozo_pct": (_WATER,),
    "apr_beneficiarios_por_hab_rural": (_APR, _population),
    "apr_estado_deficiente": (_APR,),
    "apr_distancia_km": (_APR,),
    "apr_minutos": (_accessibility("apr"), _APR),
    "salud_primaria_minutos": (_accessibility("primary"),),
    "salud_primaria_mas_60_min_pct": (_accessibility("primary"),),
    "hospital_minutos": (_accessibility("hospital"),),
    "escuela_minutos": (_accessibility("school"),),
    "centro_minutos": (_accessibility("centre"),),
    "ingresos_propios_per_capita_clp": (_OWN_INCOME,),
    "ingreso_municipal_per_capita_clp": (_latest("municipal_finance", "income_per_capita_clp"),),
    "pobreza_multidimensional_pct": (_poverty("multidimensional"),),
    "pobreza_ingresos_pct": (_poverty("income"),),
    "campamentos_hogares_por_mil": (_points("informal_settlements"), _population),
    "densidad_hab_km2": (_population, _communes),
    "poblacion_rural_pct": (_population,),
}


def indicator_sources(
    inputs: AnalysisInputs, indicators: pd.DataFrame, catalogue: Catalogue
) -> pd.DataFrame:
    """The dataset behind every commune's value of every catalogue indicator.

    Parameters
    ----------
    inputs : AnalysisInputs
        The tables the run read.
    indicators : pandas.DataFrame
        The run's raw indicators (``cut`` plus one column per indicator).
    catalogue : Catalogue
        The run's catalogue (gives each indicator's column).

    Returns
    -------
    pandas.DataFrame
        :data:`SOURCE_COLUMNS`, one row per commune and indicator with a value, sorted. An
        indicator whose column this module does not know (a custom catalogue variable) has no
        rows, and its profile says the source was not recorded.
    """
    index = pd.Index(indicators["cut"].astype(str), name="cut")
    parts = []
    for indicator in catalogue.indicators:
        resolvers = RESOLVERS.get(indicator.column)
        if not resolvers or indicator.column not in indicators:
            continue
        names = [resolve(inputs, catalogue.settings, index) for resolve in resolvers]
        joined = [
            JOINER.join(dict.fromkeys(n for n in row if isinstance(n, str))) or None
            for row in zip(*(n.to_numpy() for n in names), strict=True)
        ]
        present = indicators[indicator.column].notna().to_numpy()
        parts.append(
            pd.DataFrame({"cut": index, "indicator": indicator.id, "dataset": joined})[present]
        )
    if not parts:
        return pd.DataFrame(columns=SOURCE_COLUMNS)
    table = pd.concat(parts, ignore_index=True).dropna(subset=["dataset"])
    return table.sort_values(["indicator", "cut"]).reset_index(drop=True)[SOURCE_COLUMNS]
