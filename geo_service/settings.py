"""Settings of the service, read from ``GEOGAPS_*`` environment variables.

This module imports nothing from the project but the ``domain`` vocabulary, so that every other
module can depend on it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain import is_region_code


class Settings(BaseSettings):
    """Runtime configuration.

    Without ``database_url`` the service works from the embedded store, a folder of GeoParquet
    files at ``store_dir`` that needs no database server.
    """

    model_config = SettingsConfigDict(env_prefix="GEOGAPS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of a PostGIS database, e.g. postgresql+psycopg://u:p@host/db. "
        "Unset: use the embedded store.",
    )
    data_dir: Path = Field(
        default=Path("../shared/data/chile"),
        description="Folder laid out like the shared Chilean data folder (see SOURCES.md).",
    )
    store_dir: Path = Field(
        default=Path("var/store"), description="Folder of the embedded GeoParquet store."
    )
    raster_dir: Path = Field(
        default=Path("var/rasters"),
        description="Folder where geogaps accessibility writes its GeoTIFFs and PNG overlays.",
    )
    api_key: SecretStr | None = Field(
        default=None, description="Key required in the X-API-Key header for write endpoints."
    )
    default_region: str | None = Field(
        default=None, description="Region code (two digits, e.g. '04') used when none is given."
    )
    basemap_url: str | None = Field(
        default=None,
        description="Tile URL template of a web basemap for /mapa, e.g. a local tile server's "
        "http://host/{z}/{x}/{y}.png. Unset: no basemap (the map needs no internet).",
    )
    random_seed: int = Field(default=20221, description="Seed of the Monte Carlo uncertainty run.")
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins allowed by CORS, as JSON, e.g. ["https://gore.example.cl"]. '
        "Empty: no CORS headers.",
    )
    max_upload_mb: int = Field(
        default=50, ge=1, description="Largest file POST /datasets/{kind} accepts (413 above)."
    )
    pool_size: int = Field(
        default=10,
        ge=1,
        description="PostGIS connections kept per worker (more concurrent requests open "
        "short-lived extra connections, which cost a new database backend each).",
    )
    statement_timeout_ms: int = Field(
        default=15_000, ge=0, description="PostgreSQL statement_timeout of API queries (0: none)."
    )
    warm_caches: bool = Field(
        default=True,
        description="Fill each worker's caches in the background at start-up (the newest run, "
        "the communes' context, the /gaps inputs, the map's first load; a few seconds), "
        "/ready answering 503 until done, so first requests are not cold.",
    )
    warm_eligibility: bool = Field(
        default=True,
        description="Also compute the national Zonas Rezagadas emulation during the warm-up "
        "(about 20 s of one core per worker and data state), so commune profiles show it at "
        "once. Only with warm_caches.",
    )

    @field_validator("database_url")
    @classmethod
    def _postgis_only(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith("postgresql"):
            raise ValueError(
                "GEOGAPS_DATABASE_URL debe ser una URL postgresql:// de una base PostGIS"
            )
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we install; make the URL say so.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("default_region")
    @classmethod
    def _two_digit_region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not is_region_code(value.strip().zfill(2)):
            raise ValueError("GEOGAPS_DEFAULT_REGION debe ser un código de región de 01 a 16")
        return value.strip().zfill(2)

    @property
    def uses_postgis(self) -> bool:
        """Whether the data live in PostGIS rather than in the embedded store."""
        return self.database_url is not None
