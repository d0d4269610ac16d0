"""Readers of drinking water: census water sources and the APR/SSR rural water systems."""

from __future__ import annotations

from pathlib import Path

from layers.errors import SchemaError
from layers.readers.columns import (
    CUT_NAMES,
    Frame,
    cut_codes,
    keep_columns,
    numbers_of,
    require_number,
    text_of,
)
from layers.readers.context import ReadContext
from layers.readers.files import find_column, require_columns
from layers.validation import ValidationOutcome


def water_sources(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """Dwellings by drinking-water source (Censo 2017), with the share off the network."""
    cols = require_columns(
        frame,
        {
            "cut": ("cut", "codigo_comuna"),
            "dwellings_public_network": ("viv_agua_red_publica",),
            "dwellings_well": ("viv_agua_pozo_noria",),
            "dwellings_water_truck": ("viv_agua_camion_aljibe",),
            "dwellings_river_spring": ("viv_agua_rio_vertiente",),
            "dwellings_with_data": ("viv_con_dato_agua",),
        },
        path,
    )
    counts = {k: numbers_of(frame, v) for k, v in cols.items() if k != "cut"}
    pct = numbers_of(frame, find_column(frame, ("pct_viv_sin_red_publica",)))
    computed = 100 * (1 - counts["dwellings_public_network"] / counts["dwellings_with_data"])
    result = keep_columns(
        frame,
        {
            "cut": text_of(frame, cols["cut"]),
            "year": 2017,
            **counts,
            "pct_without_public_network": pct.fillna(computed),
        },
    )
    return require_number(result, "dwellings_with_data", out, "viv_con_dato_agua")


APR_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("nombre_ssr", "sistema_ap", "nombre_apr", "nombre", "name", "comite"),
    "connections": ("cant_arr", "catn arran", "cant arran", "arranques", "connections"),
    "beneficiaries": ("benef_est", "poblacion", "beneficiarios", "beneficiaries"),
    "status": ("situacion", "estado", "status"),
    "network_status": ("estado_red",),
    "organisation_status": ("estado_org",),
    "size_class": ("clas_op", "tipo", "clasificacion", "size_class"),
    "water_source_type": ("tipo_de_fu", "tipo_fuente", "fuente"),
}


def apr(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """APR/SSR rural water systems, from the national MOP-DOH schema or a local layer."""
    found = {target: find_column(frame, names) for target, names in APR_COLUMNS.items()}
    if found["name"] is None:
        raise SchemaError(
            f"{path.name}: un archivo de APR/SSR necesita una columna con el nombre del sistema "
            f"(una de {', '.join(APR_COLUMNS['name'])}); revise que --kind corresponda al archivo"
        )
    result = keep_columns(
        frame,
        {
            "name": text_of(frame, found["name"]),
            "cut": cut_codes(frame, ctx, CUT_NAMES),
            "connections": numbers_of(frame, found["connections"]),
            "beneficiaries": numbers_of(frame, found["beneficiaries"]),
            **{
                k: text_of(frame, found[k])
                for k in (
                    "status",
                    "network_status",
                    "organisation_status",
                    "size_class",
                    "water_source_type",
                )
            },
            "source": path.name,
            "outside_declared_commune": False,
        },
    )
    return out.reject(result, result["name"].isna(), "sistema APR sin nombre")
