"""``geogaps accessibility``: travel time from where people live to the nearest services.

Registered on the ``geogaps`` app by ``geo_service/cli/__init__.py``. Computes the surfaces
with :mod:`geo_service.services.accessibility`, writes the rasters (COG + PNG overlays) under
``GEOGAPS_RASTER_DIR`` and stores the per-commune table, which ``geogaps score`` then reads.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from domain import is_region_code
from domain.numbers import format_integer, format_number, format_share
from geo_service.cli.common import (
    UserError,
    console,
    errors,
    opened_store,
    progress_bar,
    settings_from_env,
)
from layers.errors import LayerError

if TYPE_CHECKING:
    from analysis.accessibility import AccessibilityResult, LandCover
    from layers.stores import Store


class Facility(StrEnum):
    """Destination kinds offered on the command line."""

    primary = "primary"
    cesfam = "cesfam"
    hospital = "hospital"
    school = "school"
    apr = "apr"
    centre = "centre"


def accessibility(
    facility: Annotated[
        list[Facility] | None,
        typer.Option(
            "--facility",
            help="Tipo de destino (repita la opción para varios); por omisión, los seis.",
            case_sensitive=False,
        ),
    ] = None,
    resolution: Annotated[
        int, typer.Option(min=100, max=5000, help="Tamaño de celda en metros (1000 o 500).")
    ] = 1000,
    region: Annotated[
        str | None,
        typer.Option(help="Código de región de dos dígitos, p. ej. 05; por omisión, todo el país."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Escribe la tabla por comuna en ARCHIVO.csv/.gpkg/.parquet.")
    ] = None,
    save: Annotated[
        bool, typer.Option(help="Guarda la tabla para geogaps score (por omisión, sí).")
    ] = True,
    rasters: Annotated[
        bool, typer.Option(help="Escribe rásters COG y capas PNG (por omisión, sí).")
    ] = True,
) -> None:
    """Tiempo de viaje al servicio más cercano, ponderado por población, por comuna."""
    # The raster stack (rasterio, exactextract, scikit-image) is imported only when this command
    # runs, so every other geogaps command starts quickly.
    from analysis import load_catalogue
    from analysis.accessibility import FACILITY_KINDS
    from geo_service.services.accessibility import (
        land_cover_at,
        land_cover_path,
        write_rasters,
    )
    from layers.accessibility import save_accessibility

    if region is not None and not is_region_code(region):
        raise UserError(f"región no válida {region!r}: use un código de dos dígitos, como 05")
    kinds = tuple(k.value for k in facility) if facility else FACILITY_KINDS
    settings = settings_from_env()
    cover_path = land_cover_path(settings)
    land_cover = land_cover_at(cover_path)
    if land_cover is None:
        errors.print(
            f"[yellow]sin cobertura de suelo ({cover_path}): toda celda de clase "
            "desconocida (velocidad y habitabilidad por defecto)[/yellow]"
        )
    with opened_store(settings) as store:
        result = _computed(store, resolution, kinds, land_cover, region)
        parameters: dict[str, Any] = {
            "resolution_m": resolution,
            "region": region,
            "kinds": list(kinds),
            "population_year": result.population_year,
            "land_cover": cover_path.name if land_cover is not None else None,
            "catalogue_version": load_catalogue().version,
        }
        if save:
            datasets = save_accessibility(store, result.table, parameters)
            console.print(f"guardado en {store!r}: {', '.join(datasets)}")
    if rasters:
        suffix = f"_region{region}" if region else ""
        files = write_rasters(result, settings.raster_dir, suffix)
        console.print(f"{len(files)} rásters y capas PNG en {settings.raster_dir}")
    _summary(result, kinds)
    if out is not None:
        from layers.files_out import write_table

        try:
            write_table(result.table, out)
        except LayerError as error:
            raise UserError(str(error)) from None
        console.print(f"tabla por comuna: {out}")


def _computed(
    store: Store,
    resolution: int,
    kinds: tuple[str, ...],
    land_cover: LandCover | None,
    region: str | None,
) -> AccessibilityResult:
    """The surfaces and the per-commune table, with one progress bar over every grid and kind."""
    from geo_service.services.accessibility import compute_accessibility

    progress = progress_bar("accesibilidad")
    grids = 3 if region in (None, "05") else 1
    with progress:
        task = progress.add_task("", total=grids * (len(kinds) + 2))

        def step(message: str) -> None:
            progress.update(task, advance=1, description=message)

        try:
            return compute_accessibility(
                store,
                resolution=float(resolution),
                kinds=kinds,
                land_cover=land_cover,
                region=region,
                progress=step,
            )
        except (LayerError, ValueError) as error:
            raise UserError(str(error)) from None


def _summary(result: AccessibilityResult, kinds: tuple[str, ...]) -> None:
    """Print national figures and the explicit treatments (islands, fallbacks, roads)."""
    from analysis.accessibility import FACILITY_LABELS

    table = result.table
    for kind in kinds:
        rows = table[table["facility"] == kind]
        rural = rows["rural_population"].to_numpy(dtype=float)
        minutes = rows["rural_minutes_mean"].to_numpy(dtype=float)
        usable = np.isfinite(minutes) & (rural > 0)
        mean = float(np.average(minutes[usable], weights=rural[usable])) if usable.any() else np.nan
        beyond = float(np.nansum(rows["rural_beyond_60_minutes"]))
        share = beyond / float(rural.sum()) if rural.sum() > 0 else np.nan
        note = " (sólo tiene sentido donde la capa APR cubre la comuna)" if kind == "apr" else ""
        console.print(
            f"{FACILITY_LABELS[kind]}{note}: población rural a "
            f"{format_number(mean, 1)} min en promedio; "
            f"{format_integer(beyond)} personas ({format_share(share, 1)}) a más de 60 min"
        )
    roads = sorted(set(table.loc[table["method"] == "roads", "cut"]))
    partial = sorted(set(table.loc[table["method"] == "roads_partial", "cut"]))
    console.print(
        f"con red vial cargada: {', '.join(roads) if roads else 'ninguna comuna'}"
        + (f"; en parte: {', '.join(partial)}" if partial else "")
        + "; el resto, sólo cobertura de suelo"
    )
    for _, row in result.territory.iterrows():
        what = (
            "grilla propia"
            if row["treatment"] == "own_grid"
            else "parte insular lejana excluida de la grilla continental"
        )
        area = format_number(row["offshore_area_km2"], 1)
        console.print(f"territorio insular {row['cut']}: {what} ({area} km²)")
    fallback = result.population[result.population["rural_fallback"]]
    if len(fallback):
        console.print(
            "población rural repartida en toda la superficie (sin tierra habitable): "
            + ", ".join(fallback["cut"])
        )
