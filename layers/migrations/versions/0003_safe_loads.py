"""safe loads: load attempts, finite and in-range numbers on the data tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: CHECK of every number column of the data tables of revision 0001, as layers/constraints.py
#: wrote them when this revision was made. FROZEN as of 0003: literals, never the live code,
#: so this revision always does the same thing (tables added later bring their own checks).
RANGE_CHECKS: dict[str, tuple[tuple[str, str], ...]] = {
    "territorial_codes": (),
    "communes": (("area_km2", "area_km2 >= 0.0 AND area_km2 <= 2000000.0"),),
    "urban_zones": (
        ("population_2017", "population_2017 >= 0.0 AND population_2017 <= 25000000.0"),
    ),
    "population": (
        ("year", "year >= 1900.0 AND year <= 2100.0"),
        ("population", "population >= 0.0 AND population <= 25000000.0"),
    ),
    "water_sources": (
        ("year", "year >= 1900.0 AND year <= 2100.0"),
        (
            "dwellings_public_network",
            "dwellings_public_network >= 0.0 AND dwellings_public_network <= 10000000.0",
        ),
        ("dwellings_well", "dwellings_well >= 0.0 AND dwellings_well <= 10000000.0"),
        (
            "dwellings_water_truck",
            "dwellings_water_truck >= 0.0 AND dwellings_water_truck <= 10000000.0",
        ),
        (
            "dwellings_river_spring",
            "dwellings_river_spring >= 0.0 AND dwellings_river_spring <= 10000000.0",
        ),
        ("dwellings_with_data", "dwellings_with_data >= 0.0 AND dwellings_with_data <= 10000000.0"),
        (
            "pct_without_public_network",
            "pct_without_public_network >= 0.0 AND pct_without_public_network <= 100.0",
        ),
    ),
    "apr_systems": (
        ("connections", "connections >= 0.0 AND connections <= 1000000.0"),
        ("beneficiaries", "beneficiaries >= 0.0 AND beneficiaries <= 25000000.0"),
    ),
    "facilities": (),
    "huella_presence": (),
    "project_sites": (
        (
            "total_investment_clp",
            "total_investment_clp >= 0.0 AND total_investment_clp <= 1000000000000000.0",
        ),
        (
            "private_contribution_clp",
            "private_contribution_clp >= 0.0 AND private_contribution_clp <= 1000000000000000.0",
        ),
    ),
    "localities": (
        ("inhabitants", "inhabitants >= 0.0 AND inhabitants <= 25000000.0"),
        ("dwellings", "dwellings >= 0.0 AND dwellings <= 10000000.0"),
    ),
    "rural_classification": (
        ("commune_type", "commune_type >= 1.0 AND commune_type <= 3.0"),
        ("population_2024", "population_2024 >= 0.0 AND population_2024 <= 25000000.0"),
    ),
    "poverty": (
        ("year", "year >= 1900.0 AND year <= 2100.0"),
        ("population", "population >= 0.0 AND population <= 25000000.0"),
        ("poor_count", "poor_count >= 0.0 AND poor_count <= 25000000.0"),
        ("rate", "rate >= 0.0 AND rate <= 1.0"),
        ("ci_lower", "ci_lower >= 0.0 AND ci_lower <= 1.0"),
        ("ci_upper", "ci_upper >= 0.0 AND ci_upper <= 1.0"),
    ),
    "municipal_finance": (
        ("year", "year >= 1900.0 AND year <= 2100.0"),
        ("income_total_mclp", "income_total_mclp >= 0.0 AND income_total_mclp <= 1000000000000.0"),
        (
            "spending_total_mclp",
            "spending_total_mclp >= 0.0 AND spending_total_mclp <= 1000000000000.0",
        ),
        ("investment_mclp", "investment_mclp >= 0.0 AND investment_mclp <= 1000000000000.0"),
        (
            "income_per_capita_clp",
            "income_per_capita_clp >= 0.0 AND income_per_capita_clp <= 10000000000.0",
        ),
        (
            "own_income_per_capita_mclp",
            "own_income_per_capita_mclp > '-Infinity'::float8 AND "
            "own_income_per_capita_mclp < 'Infinity'::float8",
        ),
        (
            "spending_per_capita_clp",
            "spending_per_capita_clp >= 0.0 AND spending_per_capita_clp <= 10000000000.0",
        ),
        ("population", "population >= 0.0 AND population <= 25000000.0"),
        ("density_per_km2", "density_per_km2 >= 0.0 AND density_per_km2 <= 100000.0"),
        ("pct_rural", "pct_rural >= 0.0 AND pct_rural <= 100.0"),
    ),
    "informal_settlements": (
        ("households", "households >= 0.0 AND households <= 10000000.0"),
        ("hectares", "hectares >= 0.0 AND hectares <= 1000000.0"),
    ),
    "villages": (),
    "road_segments": (
        ("length_m", "length_m >= 0.0 AND length_m <= 10000000.0"),
        ("walking_hours", "walking_hours >= 0.0 AND walking_hours <= 10000.0"),
    ),
}


def _checked_columns() -> list[tuple[str, str, str]]:
    """(table, column, CHECK sql) of the frozen checks whose column the database has."""
    existing = sa.inspect(op.get_bind())
    checks = []
    for table_name, columns in RANGE_CHECKS.items():
        present = {c["name"] for c in existing.get_columns(table_name)}
        checks += [(table_name, c, check) for c, check in columns if c in present]
    return checks


def upgrade() -> None:
    op.create_table(
        "load_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=True),
        sa.Column("rows_loaded", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('loaded', 'unchanged', 'refused', 'failed', 'removed')", name="ck_status"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_load_attempts_dataset"), "load_attempts", ["dataset"], unique=False)
    # Same limits as layers/constraints.py, checked by the embedded store on every write.
    # NOT VALID: enforced for every new row without failing on rows loaded before.
    for table_name, column, check in _checked_columns():
        op.execute(
            f'ALTER TABLE "{table_name}" ADD CONSTRAINT "ck_{table_name}_{column}_range" '
            f"CHECK ({check}) NOT VALID"
        )


def downgrade() -> None:
    for table_name, column, _ in _checked_columns():
        op.execute(
            f'ALTER TABLE "{table_name}" DROP CONSTRAINT IF EXISTS "ck_{table_name}_{column}_range"'
        )
    op.drop_index(op.f("ix_load_attempts_dataset"), table_name="load_attempts")
    op.drop_table("load_attempts")
