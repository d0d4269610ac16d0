"""Database schema of geogaps as GeoAlchemy2 models.

Every geometry is stored in EPSG:4326 and carries a spatial index (GeoAlchemy2 creates a GiST index
for each ``Geometry`` column). Every data table has a ``dataset`` column naming the dataset that
loaded the row: reloading a dataset replaces exactly its own rows, which keeps loads idempotent.
The same tables, minus the database, are the columns of the embedded GeoParquet store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4326


class Base(DeclarativeBase):
    """Declarative base of all geogaps tables."""


def _cut(primary_key: bool = False) -> Mapped[str]:
    """A CUT commune code column: five characters, zero-padded."""
    return mapped_column(String(5), primary_key=primary_key, nullable=False, index=not primary_key)


def _dataset(primary_key: bool = False) -> Mapped[str]:
    return mapped_column(Text, primary_key=primary_key, nullable=False, index=not primary_key)


class TerritorialCode(Base):
    """Official list of region, province and commune codes (SUBDERE)."""

    __tablename__ = "territorial_codes"
    cut: Mapped[str] = _cut(primary_key=True)
    dataset: Mapped[str] = _dataset()
    name: Mapped[str] = mapped_column(Text)
    province_code: Mapped[str] = mapped_column(String(3))
    province_name: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str] = mapped_column(String(2))
    region_name: Mapped[str] = mapped_column(Text)


class Commune(Base):
    """Commune boundary with names, province, region and area."""

    __tablename__ = "communes"
    cut: Mapped[str] = _cut(primary_key=True)
    dataset: Mapped[str] = _dataset()
    name: Mapped[str] = mapped_column(Text)
    province_code: Mapped[str] = mapped_column(String(3))
    province_name: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str] = mapped_column(String(2), index=True)
    region_name: Mapped[str] = mapped_column(Text)
    area_km2: Mapped[float] = mapped_column(Float)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))


class UrbanZone(Base):
    """Urban census zone of the 2017 census with its population."""

    __tablename__ = "urban_zones"
    geocode: Mapped[str] = mapped_column(Text, primary_key=True)
    dataset: Mapped[str] = _dataset()
    cut: Mapped[str] = _cut()
    population_2017: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))


class Population(Base):
    """Population of a commune by year and area (total, urbana, rural)."""

    __tablename__ = "population"
    __table_args__ = (CheckConstraint("area IN ('total', 'urbana', 'rural')", name="ck_area"),)
    dataset: Mapped[str] = _dataset(primary_key=True)
    cut: Mapped[str] = _cut(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    area: Mapped[str] = mapped_column(String(6), primary_key=True)
    population: Mapped[float] = mapped_column(Float)


class WaterSource(Base):
    """Dwellings by drinking-water source per commune (Censo 2017)."""

    __tablename__ = "water_sources"
    dataset: Mapped[str] = _dataset(primary_key=True)
    cut: Mapped[str] = _cut(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    dwellings_public_network: Mapped[int] = mapped_column(Integer)
    dwellings_well: Mapped[int] = mapped_column(Integer)
    dwellings_water_truck: Mapped[int] = mapped_column(Integer)
    dwellings_river_spring: Mapped[int] = mapped_column(Integer)
    dwellings_with_data: Mapped[int] = mapped_column(Integer)
    pct_without_public_network: Mapped[float] = mapped_column(Float)


class AprSystem(Base):
    """Rural drinking-water system (APR / SSR) as a point."""

    __tablename__ = "apr_systems"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = _dataset()
    name: Mapped[str] = mapped_column(Text)
    cut: Mapped[str] = _cut()
    connections: Mapped[float | None] = mapped_column(Float)
    beneficiaries: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(Text)
    network_status: Mapped[str | None] = mapped_column(Text)
    organisation_status: Mapped[str | None] = mapped_column(Text)
    size_class: Mapped[str | None] = mapped_column(Text)
    water_source_type: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    outside_declared_commune: Mapped[bool] = mapped_column(Boolean, default=False)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))


class Facility(Base):
    """Service facility (health, education, telecommunications) as a point."""

    __tablename__ = "facilities"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = _dataset()
    source_id: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text, index=True)
    facility_type: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(Text)
    operating_status: Mapped[str | None] = mapped_column(Text)
    ownership: Mapped[str | None] = mapped_column(Text)
    cut: Mapped[str] = _cut()
    outside_declared_commune: Mapped[bool] = mapped_column(Boolean, default=False)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))


class HuellaPresence(Base):
    """Commune where the Huella Local foundation works, with the kind of intervention."""

    __tablename__ = "huella_presence"
    dataset: Mapped[str] = _dataset(primary_key=True)
    cut: Mapped[str] = _cut(primary_key=True)
    intervention: Mapped[str] = mapped_column(Text, primary_key=True)


class ProjectSite(Base):
    """Development project with typology, stage, investment and (when known) a point."""

    __tablename__ = "project_sites"
    __table_args__ = (
        CheckConstraint(
            "typology IN ('Equipamiento', 'Espacios_Públicos', 'Infraestructura_Vial', "
            "'Servicios_Básicos')",
            name="ck_typology",
        ),
        CheckConstraint(
            "location_precision IN ('exact', 'locality', 'commune')", name="ck_location_precision"
        ),
    )
    dataset: Mapped[str] = _dataset(primary_key=True)
    project_id: Mapped[str] = mapped_column(Text, primary_key=True)
    cut: Mapped[str] = _cut()
    name: Mapped[str] = mapped_column(Text)
    typology: Mapped[str] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(Text)
    total_investment_clp: Mapped[float | None] = mapped_column(Float)
    private_contribution_clp: Mapped[float | None] = mapped_column(Float)
    location_precision: Mapped[str] = mapped_column(String(8))
    source_note: Mapped[str | None] = mapped_column(Text)
    outside_declared_commune: Mapped[bool] = mapped_column(Boolean, default=False)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=True)


class Locality(Base):
    """Census 2017 locality or rural entity with inhabitants and dwellings (no coordinates)."""

    __tablename__ = "localities"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = _dataset()
    cut: Mapped[str] = _cut()
    name: Mapped[str] = mapped_column(Text)
    locality_type: Mapped[str] = mapped_column(Text)
    subtype: Mapped[str | None] = mapped_column(Text)
    inhabitants: Mapped[float | None] = mapped_column(Float)
    dwellings: Mapped[float | None] = mapped_column(Float)


class RuralClassification(Base):
    """ODEPA national rural development policy class of a commune."""

    __tablename__ = "rural_classification"
    dataset: Mapped[str] = _dataset(primary_key=True)
    cut: Mapped[str] = _cut(primary_key=True)
    classification: Mapped[str] = mapped_column(Text)
    commune_type: Mapped[int] = mapped_column(Integer)
    population_2024: Mapped[float | None] = mapped_column(Float)


class Poverty(Base):
    """Poverty rate (0-1) with its confidence interval: multidimensional or income poverty."""

    __tablename__ = "poverty"
    dataset: Mapped[str] = _dataset(primary_key=True)
    cut: Mapped[str] = _cut(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    population: Mapped[float | None] = mapped_column(Float)
    poor_count: Mapped[float | None] = mapped_column(Float)
    rate: Mapped[float] = mapped_column(Float)
    ci_lower: Mapped[float | None] = mapped_column(Float)
    ci_upper: Mapped[float | None] = mapped_column(Float)
    # Migration 0005: "multidimensional" or "income" (MDSF small-area estimates).
    measure: Mapped[str] = mapped_column(
        Text, default="multidimensional", server_default="multidimensional"
    )


class MunicipalFinance(Base):
    """Municipal finance (SINIM), nominal CLP of the year."""

    __tablename__ = "municipal_finance"
    dataset: Mapped[str] = _dataset(primary_key=True)
    cut: Mapped[str] = _cut(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality: Mapped[str | None] = mapped_column(Text)
    income_total_mclp: Mapped[float | None] = mapped_column(Float)
    spending_total_mclp: Mapped[float | None] = mapped_column(Float)
    investment_mclp: Mapped[float | None] = mapped_column(Float)
    income_per_capita_clp: Mapped[float | None] = mapped_column(Float)
    # Migration 0005: own permanent income per inhabitant (IPP), thousands of CLP (M$).
    own_income_per_capita_mclp: Mapped[float | None] = mapped_column(Float, nullable=True)
    spending_per_capita_clp: Mapped[float | None] = mapped_column(Float)
    population: Mapped[float | None] = mapped_column(Float)
    density_per_km2: Mapped[float | None] = mapped_column(Float)
    pct_rural: Mapped[float | None] = mapped_column(Float)


class InformalSettlement(Base):
    """Informal settlement (campamento) of the MINVU 2024 survey."""

    __tablename__ = "informal_settlements"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = _dataset()
    source_id: Mapped[str | None] = mapped_column(Text)
    cut: Mapped[str] = _cut()
    name: Mapped[str | None] = mapped_column(Text)
    households: Mapped[float | None] = mapped_column(Float)
    hectares: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))


class Village(Base):
    """Village (poblado) outline from the one-commune demo layers."""

    __tablename__ = "villages"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = _dataset()
    cut: Mapped[str] = _cut()
    name: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))


class RoadSegment(Base):
    """Road or trail segment with surface and walking time."""

    __tablename__ = "road_segments"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = _dataset()
    cut: Mapped[str] = _cut()
    road_type: Mapped[str | None] = mapped_column(Text)
    surface: Mapped[str | None] = mapped_column(Text)
    length_m: Mapped[float | None] = mapped_column(Float)
    walking_hours: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("MULTILINESTRING", srid=SRID, spatial_index=True))


class CommuneAccessibility(Base):
    """Population-weighted travel time of a commune to its nearest facility of one kind.

    One dataset per destination kind and resolution (``accesibilidad_<kind>_<res>m``), written
    by ``geogaps accessibility``; shares are 0-1, counts are inhabitants of the rural area.
    """

    __tablename__ = "accessibility"
    dataset: Mapped[str] = _dataset(primary_key=True)
    cut: Mapped[str] = _cut(primary_key=True)
    facility: Mapped[str] = mapped_column(Text)
    resolution_m: Mapped[int] = mapped_column(Integer)
    grid: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(Text)
    destinations: Mapped[int] = mapped_column(Integer)
    population: Mapped[float | None] = mapped_column(Float)
    rural_population: Mapped[float | None] = mapped_column(Float)
    population_year: Mapped[int] = mapped_column(Integer)
    minutes_mean: Mapped[float | None] = mapped_column(Float)
    rural_minutes_mean: Mapped[float | None] = mapped_column(Float)
    rural_unreachable_share: Mapped[float | None] = mapped_column(Float)
    rural_share_beyond_30_minutes: Mapped[float | None] = mapped_column(Float)
    rural_share_beyond_60_minutes: Mapped[float | None] = mapped_column(Float)
    rural_share_beyond_120_minutes: Mapped[float | None] = mapped_column(Float)
    rural_beyond_30_minutes: Mapped[float | None] = mapped_column(Float)
    rural_beyond_60_minutes: Mapped[float | None] = mapped_column(Float)
    rural_beyond_120_minutes: Mapped[float | None] = mapped_column(Float)


class DatasetProvenance(Base):
    """Where a loaded dataset came from and what its load did."""

    __tablename__ = "dataset_provenance"
    dataset: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_loaded: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)


LOAD_STATUSES = ("loaded", "unchanged", "refused", "failed", "removed", "retired")


class LoadAttempt(Base):
    """Every load (or removal) of a dataset, refused ones included, with the reason."""

    __tablename__ = "load_attempts"
    __table_args__ = (
        CheckConstraint(
            "status IN ('loaded', 'unchanged', 'refused', 'failed', 'removed', 'retired')",
            name="ck_status",
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = mapped_column(Text, index=True)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str | None] = mapped_column(Text, nullable=True)
    file_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    rows_read: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_loaded: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RetiredDataset(Base):
    """A dataset retired by a replacement load (``--replaces``): kept, never served or scored.

    Migration 0007. Its rows leave the data table in the same transaction that loads the
    dataset replacing it, and are kept here as Parquet bytes with the provenance they had, so
    nothing is lost and no reader of the data tables can see them.
    """

    __tablename__ = "retired_datasets"
    dataset: Mapped[str] = mapped_column(Text, primary_key=True)
    retired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    replaced_by: Mapped[str] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(Integer)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ScoreRun(Base):
    """One reproducible gap-scoring run: inputs' hashes, parameters, seed and software version."""

    __tablename__ = "score_runs"
    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: ``nacional`` or the two-digit region code the run compared (newest run is per scope).
    scope: Mapped[str] = mapped_column(Text, nullable=False, server_default="nacional")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    software_version: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    result_sha256: Mapped[str] = mapped_column(String(64))
    #: Versions of the libraries that shape results (numpy, pandas, esda, ...).
    versions: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: Communes ranked per score id, so a page of results knows its "n de N" without counting.
    ranked_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ScoreResult(Base):
    """A commune's scores in one run, one row per commune and challenge."""

    __tablename__ = "score_results"
    run_id: Mapped[str] = mapped_column(
        ForeignKey("score_runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    cut: Mapped[str] = _cut(primary_key=True)
    challenge: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    region_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    score: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    tier: Mapped[int | None] = mapped_column(Integer)
    tier_label: Mapped[str | None] = mapped_column(Text)
    coverage: Mapped[float] = mapped_column(Float)
    indicators_available: Mapped[int] = mapped_column(Integer)
    indicators_total: Mapped[int] = mapped_column(Integer)
    median_rank: Mapped[float | None] = mapped_column(Float)
    rank_p05: Mapped[float | None] = mapped_column(Float)
    rank_p95: Mapped[float | None] = mapped_column(Float)
    top_tier_share: Mapped[float | None] = mapped_column(Float)
    # Migration 0005: what the composite rests on, and ranks within the commune's region.
    challenges_available: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rank_region: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tier_region: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tier_label_region: Mapped[str | None] = mapped_column(Text, nullable=True)
    median_rank_region: Mapped[float | None] = mapped_column(Float, nullable=True)
    rank_p05_region: Mapped[float | None] = mapped_column(Float, nullable=True)
    rank_p95_region: Mapped[float | None] = mapped_column(Float, nullable=True)
    top_tier_share_region: Mapped[float | None] = mapped_column(Float, nullable=True)
    explanation: Mapped[str | None] = mapped_column(Text)


Index("ix_score_results_run_challenge", ScoreResult.run_id, ScoreResult.challenge)
Index("ix_score_runs_scope_created", ScoreRun.scope, ScoreRun.created_at.desc())


class ScoreRunTable(Base):
    """One result table of a run (indicators, contributions, clusters...) as Parquet bytes.

    Explanations and commune profiles are rebuilt from these, never by re-scoring.
    """

    __tablename__ = "score_run_tables"
    run_id: Mapped[str] = mapped_column(
        ForeignKey("score_runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ApiAnswer(Base):
    """A computed API answer (``/gaps`` with given weights) shared by every server worker.

    A cache, not a record: keyed by a hash of the data state and the parameters, dropped when
    the data change, and UNLOGGED (PostgreSQL may empty it after a crash; it is rebuilt on
    demand).
    """

    __tablename__ = "api_answers"
    __table_args__ = ({"prefixes": ["UNLOGGED"]},)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Store state (provenance hash) the answer was computed from.
    state: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content: Mapped[bytes] = mapped_column(LargeBinary)


Index("ix_api_answers_created", ApiAnswer.created_at)


class TileGeometry(Base):
    """A served polygon prepared for the vector tiles of one zoom band (EPSG:3857).

    Derived data, not a record: rebuilt from its table's row whenever the row's dataset is
    loaded, replaced or removed (:mod:`layers.features.prepared`).
    """

    __tablename__ = "tile_geometries"
    table_name: Mapped[str] = mapped_column(Text, primary_key=True)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    feature_key: Mapped[str] = mapped_column(Text, primary_key=True)
    dataset: Mapped[str] = _dataset()
    # No spatial index: tiles find these rows by primary key (see migration 0011).
    geom = mapped_column(Geometry("GEOMETRY", srid=3857, spatial_index=False), nullable=False)


#: Data tables filled by loaders, by name.
DATA_TABLES = {
    model.__tablename__: model
    for model in (
        TerritorialCode,
        Commune,
        UrbanZone,
        Population,
        WaterSource,
        AprSystem,
        Facility,
        HuellaPresence,
        ProjectSite,
        Locality,
        RuralClassification,
        Poverty,
        MunicipalFinance,
        InformalSettlement,
        Village,
        RoadSegment,
        CommuneAccessibility,
    )
}
