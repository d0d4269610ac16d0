"""Raw indicator values of every commune, computed from the input tables.

Missing is explicit: a value is ``NaN`` when its source has no data for the commune (for
example APR indicators outside the communes covered by the APR layer), never zero. A zero
is written only when a complete national survey found nothing (no informal settlement in the
MINVU census, no rural locality in the Censo 2017 list).
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.challenges import Catalogue, CatalogueSettings, load_catalogue
from analysis.geometry import geometries, nearest_distance_km, points_within, rural_sample
from analysis.inputs import AnalysisInputs
from domain.text import fold

#: Columns describing each commune, always first in the output.
IDENTITY_COLUMNS = ("cut", "name", "region_code", "region_name")


def fold_series(values: pd.Series) -> pd.Series:
    """Fold every value of a column (:func:`domain.text.fold`); missing stays missing."""
    distinct = values.dropna().unique()
    return values.map({value: fold(value) for value in distinct})


def _folded_set(values: Iterable[str]) -> set[str]:
    return {fold(value) for value in values}


def _latest_per_commune(frame: pd.DataFrame, value_column: str) -> pd.DataFrame:
    """Keep, per CUT, the row of the latest year having a value in ``value_column``."""
    usable = frame[frame[value_column].notna()]
    if "year" in usable.columns:
        usable = usable.sort_values(["cut", "year"], kind="stable")
    return usable.drop_duplicates("cut", keep="last").set_index("cut")


def compute_indicators(inputs: AnalysisInputs, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Compute every raw indicator for every commune.

    Parameters
    ----------
    inputs : AnalysisInputs
        Input tables (see :class:`analysis.inputs.AnalysisInputs`).
    catalogue : Catalogue, optional
        Supplies the computation settings (population year, facility types, sample size);
        the packaged catalogue by default.

    Returns
    -------
    pandas.DataFrame
        One row per commune of ``inputs.communes`` sorted by CUT, with identity columns,
        one column per shipped indicator id and context columns:
        ``agua_camion_rio_pozo_pct``, ``population_total``, ``population_rural``,
        ``population_year``, ``area_km2``, ``rural_area_km2``,
        ``rural_sample_points``, ``rural_sample_fallback``, ``apr_systems``,
        ``primary_care_facilities``, ``rural_primary_care_facilities``, ``hospitals``,
        ``rural_localities``, ``informal_households``, ``pobreza_ic_inferior_pct``,
        ``pobreza_ic_superior_pct``, ``pobreza_ingresos_ic_inferior_pct``,
        ``pobreza_ingresos_ic_superior_pct``, ``poverty_year``, ``finance_year``,
        ``own_income_year``, ``ingreso_municipal_per_capita_clp`` and
        ``odepa_classification``.
    """
    settings = (catalogue or load_catalogue()).settings
    communes = inputs.communes.sort_values("cut", kind="stable").reset_index(drop=True)
    cuts = communes["cut"].astype(str)
    out = pd.DataFrame({column: communes[column].to_numpy() for column in IDENTITY_COLUMNS})
    out["cut"] = cuts.to_numpy()
    out = out.set_index("cut", drop=False)

    _add_population(out, communes, inputs.population, settings)
    _add_water(out, inputs.water_sources)
    sample = rural_sample(
        communes,
        inputs.urban_zones,
        settings.rural_points_per_commune,
        settings.rural_min_area_km2,
    )
    summary = sample.summary.set_index("cut")
    for column in ("rural_area_km2", "rural_sample_points", "rural_sample_fallback"):
        out[column] = summary[column].reindex(out.index).to_numpy()
    _add_apr(out, inputs.apr_systems, sample.points, settings)
    _add_health(
        out, inputs.facilities, inputs.urban_zones, inputs.localities, sample.points, settings
    )
    _add_accessibility(out, inputs.accessibility, settings)
    _add_social(out, inputs)
    return out.reset_index(drop=True)


def population_by_area(
    population: pd.DataFrame, settings: CatalogueSettings
) -> tuple[pd.DataFrame, int]:
    """Inhabitants per commune (rows, by CUT) and area (columns) in the projection year used.

    The year is the catalogue's ``population_year`` when loaded, otherwise the latest one
    available; it is returned with the table.
    """
    table = population[population["dataset"] == settings.population_dataset]
    years = sorted(int(y) for y in table["year"].dropna().unique())
    year = (
        settings.population_year
        if settings.population_year in years
        else (years[-1] if years else settings.population_year)
    )
    table = table[table["year"] == year]
    by_area = table.pivot_table(index="cut", columns="area", values="population", aggfunc="sum")
    return by_area, year


def _add_population(
    out: pd.DataFrame,
    communes: gpd.GeoDataFrame,
    population: pd.DataFrame,
    settings: CatalogueSettings,
) -> None:
    by_area, year = population_by_area(population, settings)
    total = by_area["total"] if "total" in by_area else pd.Series(dtype=float)
    rural = by_area["rural"] if "rural" in by_area else pd.Series(dtype=float)
    out["population_year"] = year
    out["population_total"] = total.reindex(out.index).astype(float).to_numpy()
    out["population_rural"] = rural.reindex(out.index).astype(float).to_numpy()

    area = pd.to_numeric(communes["area_km2"], errors="coerce").to_numpy(dtype=float)
    missing_area = ~(area > 0)
    if missing_area.any():
        measured = communes.geometry.to_crs(6933).area.to_numpy() / 1e6
        area = np.where(missing_area, measured, area)
    out["area_km2"] = np.where(area > 0, area, np.nan)

    with np.errstate(invalid="ignore", divide="ignore"):
        total_values = out["population_total"].to_numpy(dtype=float)
        positive_total = np.where(total_values > 0, total_values, np.nan)
        out["poblacion_rural_pct"] = 100.0 * out["population_rural"].to_numpy() / positive_total
        out["densidad_hab_km2"] = total_values / out["area_km2"].to_numpy()


def _add_water(out: pd.DataFrame, water: pd.DataFrame) -> None:
    rows = _latest_per_commune(water, "dwellings_with_data").reindex(out.index)
    with_data = rows["dwellings_with_data"].astype(float).to_numpy()
    with_data = np.where(with_data > 0, with_data, np.nan)
    public = rows["dwellings_public_network"].astype(float).to_numpy()
    truck = rows["dwellings_water_truck"].astype(float).to_numpy()
    river = rows["dwellings_river_spring"].astype(float).to_numpy()
    well = rows["dwellings_well"].astype(float).to_numpy()
    out["agua_sin_red_publica"] = 100.0 * (with_data - public) / with_data
    out["agua_fuente_precaria"] = 100.0 * (truck + river) / with_data
    # Equal to agua_sin_red_publica when the four census sources add up to the total; kept
    # as a variable planners can use in their own catalogue.
    out["agua_camion_rio_pozo_pct"] = 100.0 * (truck + river + well) / with_data


def _point_coordinates(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    shapes = geometries(frame)
    lon = np.full(len(shapes), np.nan)
    lat = np.full(len(shapes), np.nan)
    present = shapes != None  # noqa: E711
    if present.any():
        # Multi-part or polygonal inputs are reduced to a representative point.
        points = shapely.point_on_surface(shapes[present])
        lon[present] = shapely.get_x(points)
        lat[present] = shapely.get_y(points)
    return lon, lat


def _median_distance(
    points: pd.DataFrame, target_lon: np.ndarray, target_lat: np.ndarray, index: pd.Index
) -> np.ndarray:
    """Median over each commune's sample points of the distance to the nearest target."""
    located = np.isfinite(target_lon) & np.isfinite(target_lat)
    distance = nearest_distance_km(
        points["lon"].to_numpy(dtype=float),
        points["lat"].to_numpy(dtype=float),
        target_lon[located],
        target_lat[located],
    )
    medians = pd.Series(distance).groupby(points["cut"].to_numpy()).median()
    return medians.reindex(index).to_numpy(dtype=float)


def _add_apr(
    out: pd.DataFrame,
    apr: gpd.GeoDataFrame,
    points: pd.DataFrame,
    settings: CatalogueSettings,
) -> None:
    cuts = apr["cut"].astype(str)
    systems = cuts.value_counts().reindex(out.index).fillna(0).astype(int)
    out["apr_systems"] = systems.to_numpy()
    covered = systems.to_numpy() > 0
    beneficiaries = (
        pd.to_numeric(apr["beneficiaries"], errors="coerce")
        .groupby(cuts.to_numpy())
        .sum(min_count=1)
        .reindex(out.index)
        .to_numpy(dtype=float)
    )
    rural_population = out["population_rural"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_rural = beneficiaries / np.where(rural_population > 0, rural_population, np.nan)
    out["apr_beneficiarios_por_hab_rural"] = np.where(covered, per_rural, np.nan)

    deficient = _folded_set(settings.apr_deficient_statuses)
    network = fold_series(apr["network_status"])
    organisation = fold_series(apr["organisation_status"])
    known = network.notna() | organisation.notna()
    bad = network.isin(deficient) | organisation.isin(deficient)
    status = pd.DataFrame({"known": known.to_numpy(), "bad": (bad & known).to_numpy()})
    grouped = status.groupby(cuts.to_numpy()).sum()
    known_count = grouped["known"].reindex(out.index).fillna(0).to_numpy(dtype=float)
    bad_count = grouped["bad"].reindex(out.index).fillna(0).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["apr_estado_deficiente"] = np.where(
            known_count > 0, 100.0 * bad_count / known_count, np.nan
        )

    lon, lat = _point_coordinates(apr)
    distance = _median_distance(points, lon, lat, out.index)
    # Distances only where the layer covers the commune: elsewhere the nearest APR in the
    # data may be far away simply because the neighbour's systems were not loaded.
    out["apr_distancia_km"] = np.where(covered, distance, np.nan)


#: Accessibility indicators: column → (destination kind, statistic of the stored table).
ACCESSIBILITY_INDICATORS: dict[str, tuple[str, str]] = {
    "salud_primaria_minutos": ("primary", "rural_minutes_mean"),
    "hospital_minutos": ("hospital", "rural_minutes_mean"),
    "escuela_minutos": ("school", "rural_minutes_mean"),
    "centro_minutos": ("centre", "rural_minutes_mean"),
    "apr_minutos": ("apr", "rural_minutes_mean"),
    "salud_primaria_mas_60_min_pct": ("primary", "rural_share_beyond_60_minutes"),
}


def _accessibility_rows(table: pd.DataFrame, settings: CatalogueSettings) -> pd.DataFrame:
    """Pick one stored row per commune and destination kind.

    The configured resolution wins, else the finest stored; national before regional runs.
    """
    if table is None or len(table) == 0:
        return pd.DataFrame(columns=["cut", "facility"])
    rows = table.assign(
        cut=table["cut"].astype(str),
        preferred=table["resolution_m"] != settings.accessibility_resolution_m,
        regional=table["dataset"].astype(str).str.contains("_region"),
    )
    rows = rows.sort_values(["preferred", "resolution_m", "regional"], kind="stable")
    return rows.drop_duplicates(["cut", "facility"], keep="first")


def _add_accessibility(out: pd.DataFrame, table: pd.DataFrame, settings: CatalogueSettings) -> None:
    """Population-weighted travel-time indicators from the stored accessibility results.

    Minutes are those of the commune's rural inhabitants; where a commune has no rural
    population the mean of all its inhabitants stands in (and nobody rural is beyond 60
    minutes). Without stored results every accessibility indicator is missing, never zero.
    APR minutes are kept only where the APR layer covers the commune (elsewhere the nearest
    loaded APR may be far simply because the neighbours' systems were not loaded).
    """
    rows = _accessibility_rows(table, settings)
    for column, (kind, statistic) in ACCESSIBILITY_INDICATORS.items():
        of_kind = rows[rows["facility"] == kind].set_index("cut") if len(rows) else rows
        if len(of_kind) == 0 or statistic not in of_kind:
            out[column] = np.nan
            continue
        values = pd.to_numeric(of_kind[statistic], errors="coerce").reindex(out.index)
        rural = pd.to_numeric(of_kind["rural_population"], errors="coerce").reindex(out.index)
        no_rural = (rural <= 0).to_numpy()
        if statistic == "rural_minutes_mean":
            everyone = pd.to_numeric(of_kind["minutes_mean"], errors="coerce")
            values = values.where(~no_rural, everyone.reindex(out.index))
            out[column] = values.to_numpy(dtype=float)
        else:
            shares = values.where(~no_rural, 0.0).where(rural.notna())
            out[column] = 100.0 * shares.to_numpy(dtype=float)
    if "apr_minutos" in out and "apr_systems" in out:
        out["apr_minutos"] = np.where(out["apr_systems"] > 0, out["apr_minutos"], np.nan)
    primary = rows[rows["facility"] == "primary"].set_index("cut") if len(rows) else rows
    out["accessibility_method"] = (
        primary["method"].reindex(out.index).to_numpy() if len(primary) else None
    )
    out["accessibility_resolution_m"] = (
        pd.to_numeric(primary["resolution_m"]).reindex(out.index).to_numpy(dtype=float)
        if len(primary)
        else np.nan
    )


def _add_health(
    out: pd.DataFrame,
    facilities: gpd.GeoDataFrame,
    urban_zones: gpd.GeoDataFrame,
    localities: pd.DataFrame,
    points: pd.DataFrame,
    settings: CatalogueSettings,
) -> None:
    folded_category = fold_series(facilities["category"])
    status = fold_series(facilities["operating_status"]).fillna("")
    operating = ~status.str.contains("cerrad")
    health = facilities[(folded_category == fold(settings.health_category)) & operating]
    kind = fold_series(health["facility_type"])
    primary = health[kind.isin(_folded_set(settings.primary_care_types)).to_numpy()]
    hospitals = health[kind.isin(_folded_set(settings.hospital_types)).to_numpy()]

    primary_lon, primary_lat = _point_coordinates(primary)
    hospital_lon, hospital_lat = _point_coordinates(hospitals)
    has_data = len(health) > 0
    out["salud_primaria_distancia_km"] = (
        _median_distance(points, primary_lon, primary_lat, out.index) if has_data else np.nan
    )
    out["hospital_distancia_km"] = (
        _median_distance(points, hospital_lon, hospital_lat, out.index) if has_data else np.nan
    )

    primary_cuts = primary["cut"].astype(str).to_numpy()
    in_urban_zone = points_within(primary_lon, primary_lat, urban_zones)
    located = np.isfinite(primary_lon)
    rural_facility = located & ~in_urban_zone
    primary_count = pd.Series(primary_cuts).value_counts().reindex(out.index).fillna(0)
    rural_count = (
        pd.Series(primary_cuts[rural_facility]).value_counts().reindex(out.index).fillna(0)
    )
    out["primary_care_facilities"] = primary_count.astype(int).to_numpy()
    out["rural_primary_care_facilities"] = rural_count.astype(int).to_numpy()
    out["hospitals"] = (
        hospitals["cut"]
        .astype(str)
        .value_counts()
        .reindex(out.index)
        .fillna(0)
        .astype(int)
        .to_numpy()
    )
    rural_population = out["population_rural"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_10k = (
            10_000.0
            * rural_count.to_numpy(dtype=float)
            / np.where(rural_population > 0, rural_population, np.nan)
        )
    out["establecimientos_por_10k_rural"] = per_10k if has_data else np.nan

    types = fold_series(localities["locality_type"])
    subtypes = fold_series(localities["subtype"])
    inhabitants = pd.to_numeric(localities["inhabitants"], errors="coerce")
    settlement = (
        types.isin(_folded_set(settings.rural_locality_types))
        & ~subtypes.isin(_folded_set(settings.excluded_locality_subtypes))
        & (inhabitants > 0)
    )
    rural_localities = (
        localities.loc[settlement.to_numpy(), "cut"]
        .astype(str)
        .value_counts()
        .reindex(out.index)
        .fillna(0)
        .astype(int)
    )
    out["rural_localities"] = rural_localities.to_numpy()
    per_facility = rural_localities.to_numpy(dtype=float) / np.maximum(
        primary_count.to_numpy(dtype=float), 1.0
    )
    available = has_data and len(localities) > 0
    out["localidades_por_establecimiento"] = per_facility if available else np.nan


def _poverty_measure(poverty: pd.DataFrame, measure: str, index: pd.Index) -> pd.DataFrame:
    """Latest estimate per commune of one poverty measure.

    Tables without a ``measure`` column hold only multidimensional poverty (before 0005).
    """
    if "measure" in poverty.columns:
        kind = poverty["measure"].fillna("multidimensional").astype(str)
        poverty = poverty[(kind == measure).to_numpy()]
    elif measure != "multidimensional":
        poverty = poverty.iloc[0:0]
    return _latest_per_commune(poverty, "rate").reindex(index)


def _add_social(out: pd.DataFrame, inputs: AnalysisInputs) -> None:
    poverty = _poverty_measure(inputs.poverty, "multidimensional", out.index)
    out["pobreza_multidimensional_pct"] = 100.0 * poverty["rate"].astype(float).to_numpy()
    out["pobreza_ic_inferior_pct"] = 100.0 * poverty["ci_lower"].astype(float).to_numpy()
    out["pobreza_ic_superior_pct"] = 100.0 * poverty["ci_upper"].astype(float).to_numpy()
    out["poverty_year"] = poverty["year"].astype(float).to_numpy()
    income_poverty = _poverty_measure(inputs.poverty, "income", out.index)
    out["pobreza_ingresos_pct"] = 100.0 * income_poverty["rate"].astype(float).to_numpy()
    out["pobreza_ingresos_ic_inferior_pct"] = (
        100.0 * income_poverty["ci_lower"].astype(float).to_numpy()
    )
    out["pobreza_ingresos_ic_superior_pct"] = (
        100.0 * income_poverty["ci_upper"].astype(float).to_numpy()
    )

    finance_table = inputs.municipal_finance
    finance = _latest_per_commune(finance_table, "income_per_capita_clp").reindex(out.index)
    # Total income per inhabitant is context only: it is high in small rural communes because
    # of Fondo Común Municipal transfers, so it marks transfer dependence, not capacity.
    out["ingreso_municipal_per_capita_clp"] = (
        finance["income_per_capita_clp"].astype(float).to_numpy()
    )
    out["finance_year"] = finance["year"].astype(float).to_numpy()
    own_column = "own_income_per_capita_mclp"
    if own_column in finance_table.columns:
        own = _latest_per_commune(finance_table, own_column).reindex(out.index)
        # M$ (thousands of pesos) per inhabitant, reported in pesos per inhabitant.
        out["ingresos_propios_per_capita_clp"] = 1000.0 * own[own_column].astype(float).to_numpy()
        out["own_income_year"] = own["year"].astype(float).to_numpy()
    else:
        out["ingresos_propios_per_capita_clp"] = np.nan
        out["own_income_year"] = np.nan

    settlements = inputs.informal_settlements
    households = (
        pd.to_numeric(settlements["households"], errors="coerce")
        .fillna(0.0)
        .groupby(settlements["cut"].astype(str).to_numpy())
        .sum()
        .reindex(out.index)
        .fillna(0.0)
        .to_numpy(dtype=float)
    )
    out["informal_households"] = households
    total = out["population_total"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_thousand = 1000.0 * households / np.where(total > 0, total, np.nan)
    # An empty table means the survey was not loaded, not that there are no settlements.
    out["campamentos_hogares_por_mil"] = per_thousand if len(settlements) > 0 else np.nan

    classes = inputs.rural_classification
    if len(classes) > 0:
        by_cut = classes.assign(cut=classes["cut"].astype(str)).drop_duplicates("cut")
        classification = by_cut.set_index("cut")["classification"]
        out["odepa_classification"] = classification.reindex(out.index).to_numpy()
    else:
        out["odepa_classification"] = pd.Series(pd.NA, index=out.index, dtype="string").to_numpy()
