"""Reader of service facilities: MINSAL-DEIS health, MINEDUC schools and other layouts."""

from __future__ import annotations

from pathlib import Path

from domain.text import fold
from layers.readers.columns import CUT_NAMES, Frame, cut_codes, keep_columns, text_of
from layers.readers.context import ReadContext
from layers.readers.files import find_column
from layers.validation import ValidationOutcome

_FACILITY_LAYOUTS: dict[str, dict[str, tuple[str, ...] | str]] = {
    # MINSAL-DEIS national directory
    "salud_deis": {
        "marker": ("tipoestablecimientoglosa",),
        "category": "salud",
        "source_id": ("establecimientocodigo",),
        "name": ("establecimientoglosa",),
        "facility_type": ("tipoestablecimientoglosa",),
        "level": ("nivelatencionestabglosa",),
        "operating_status": ("estadofuncionamiento",),
        "ownership": ("tiposistemasaludglosa",),
        "cut": ("comunacodigo",),
    },
    # older MINSAL layer (Petorca demo)
    "salud": {
        "marker": ("c_vig",),
        "category": "salud",
        "source_id": ("c_vig",),
        "name": ("nombre",),
        "facility_type": ("tipo",),
        "level": ("nivel",),
        "operating_status": (),
        "ownership": ("depen_a",),
        "cut": ("c_com",),
    },
    # MINEDUC official school directory (national CSV, lat/lon)
    "educacion_mineduc": {
        "marker": ("nombre_establecimiento",),
        "category": "educacion",
        "source_id": ("rbd",),
        "name": ("nombre_establecimiento",),
        "facility_type": ("dependencia_administrativa",),
        "level": (),
        "operating_status": ("estado_funcionamiento",),
        "ownership": ("dependencia_administrativa",),
        "cut": ("codigo_comuna",),
    },
    "educacion": {
        "marker": ("rbd",),
        "category": "educacion",
        "source_id": ("rbd",),
        "name": ("nom_rbd",),
        "facility_type": ("tipo_depen",),
        "level": (),
        "operating_status": ("estado_est",),
        "ownership": ("tipo_depen",),
        "cut": ("cod_com",),
    },
    "educacion_parvularia": {
        "marker": ("id_estab",),
        "category": "educacion_parvularia",
        "source_id": ("id_estab",),
        "name": ("nom_estab",),
        "facility_type": ("dependenci",),
        "level": (),
        "operating_status": ("estado_est",),
        "ownership": ("dependenci",),
        "cut": ("cod_com_es",),
    },
    "telecomunicaciones": {
        "marker": ("sopo_id",),
        "category": "telecomunicaciones",
        "source_id": ("sopo_id",),
        "name": ("elm_nombre", "dte_direcc"),
        "facility_type": ("tecnologia",),
        "level": (),
        "operating_status": ("stdo_descr",),
        "ownership": ("alias",),
        "cut": (),
    },
    "generic": {
        "marker": (),
        "category": "otro",
        "source_id": ("id", "codigo", "code"),
        "name": ("nombre", "name", "establecimiento"),
        "facility_type": ("tipo", "type"),
        "level": ("nivel", "level"),
        "operating_status": ("estado", "status"),
        "ownership": ("dependencia", "ownership"),
        "cut": CUT_NAMES,
    },
}
CLOSED_STATUSES = {"cerrado", "cerrada", "closed"}


def facilities(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """Facilities of any known layout; closed ones are rejected.

    The layout is the first of :data:`_FACILITY_LAYOUTS` whose marker column is present.
    """
    layout = next(
        spec
        for spec in _FACILITY_LAYOUTS.values()
        if not spec["marker"] or find_column(frame, spec["marker"])  # type: ignore[arg-type]
    )

    def col(target: str) -> str | None:
        names = layout[target]
        return find_column(frame, names) if names else None  # type: ignore[arg-type]

    category_column = find_column(frame, ("categoria", "category"))
    category = (
        text_of(frame, category_column)
        if layout is _FACILITY_LAYOUTS["generic"] and category_column
        else layout["category"]
    )
    source_id = text_of(frame, col("source_id")).map(
        lambda v: v[:-2] if v and v.endswith(".0") else v
    )
    cut_column = col("cut")
    result = keep_columns(
        frame,
        {
            "source_id": source_id,
            "name": text_of(frame, col("name")),
            "category": category,
            "facility_type": text_of(frame, col("facility_type")),
            "level": text_of(frame, col("level")),
            "operating_status": text_of(frame, col("operating_status")),
            "ownership": text_of(frame, col("ownership")),
            "cut": text_of(frame, cut_column) if cut_column else cut_codes(frame, ctx, ()),
            "outside_declared_commune": False,
        },
    )
    result = out.reject(result, result["name"].isna(), "establecimiento sin nombre")
    if layout is _FACILITY_LAYOUTS["educacion_mineduc"]:
        # The directory leaves LATITUD/LONGITUD empty for some schools: say so, by name.
        no_point = result.geometry.isna() | result.geometry.is_empty
        result = out.reject(
            result, no_point, "establecimiento educacional sin coordenadas (LATITUD/LONGITUD)"
        )
    statuses = result["operating_status"]
    closed_values = {s for s in statuses.dropna().unique() if fold(s) in CLOSED_STATUSES}
    closed = statuses.isin(closed_values)
    return out.reject(result, closed, "establecimiento cerrado (EstadoFuncionamiento = Cerrado)")
