"""Readers for every kind of dataset, and the registry that names them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from layers.errors import SchemaError
from layers.parsing import parse_number_column
from layers.readers.files import find_column, fold, read_csv, read_vector, require_columns
from layers.validation import SOURCE_ROW, ValidationOutcome

Frame = pd.DataFrame


@dataclass
class ReadContext:
    """What a reader may need besides its file: names with accents, and commune names → CUT.

    ``name_lookup`` is called at most once, and only by readers of sources without a CUT column,
    so loads of files that carry their codes never pay for it.
    """

    accented_names: dict[str, str] = field(default_factory=dict)  # cut -> name with accents
    accented_regions: dict[str, str] = field(default_factory=dict)  # region code -> name
    names_source: dict[str, str] | None = None  # file and sha256 the accented names came from
    name_lookup: Callable[[], dict[str, str]] | None = None  # -> {folded name: cut}
    _commune_names: dict[str, str] | None = None

    @property
    def commune_names(self) -> dict[str, str]:
        """Folded commune name → CUT, for names that identify one commune."""
        if self._commune_names is None:
            self._commune_names = self.name_lookup() if self.name_lookup else {}
        return self._commune_names


@dataclass(frozen=True)
class Kind:
    """A kind of dataset: which table it fills, how its files are read, which checks apply."""

    name: str
    table: str
    source: str
    description: str
    transform: Callable[[Frame, Path, ReadContext, ValidationOutcome], Frame]
    geometry_type: str | None = None
    geometry_optional: bool = False
    check_point_in_commune: bool = False
    key: tuple[str, ...] = ()
    #: False where identical rows are distinct real entities (the census locality list has no
    #: district code, so two "Indeterminada" entities of 12 inhabitants look the same).
    drop_exact_duplicates: bool = True

    @property
    def spatial(self) -> bool:
        """Whether rows of this kind carry a geometry."""
        return self.geometry_type is not None

    def open(self, path: Path, layer: str | None = None) -> Frame:
        """Open ``path`` (``layer`` of a GeoPackage) as a vector file or a CSV."""
        if self.spatial:
            return read_vector(path, layer)
        if path.suffix.lower() != ".csv":
            frame = read_vector(path, layer)
            return pd.DataFrame(frame.drop(columns=frame.geometry.name))
        return read_csv(path)


def _text(frame: Frame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    text = frame[column].astype("string").str.strip()
    return text.astype(object).where(text.notna(), None)


def _number(frame: Frame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series(float("nan"), index=frame.index)
    return parse_number_column(frame[column])


def _keep(frame: Frame, columns: dict[str, Any]) -> Frame:
    """Build the output frame: the given columns, the source row and (if any) the geometry."""
    out = pd.DataFrame(columns, index=frame.index)
    out.insert(0, SOURCE_ROW, frame[SOURCE_ROW])
    if isinstance(frame, gpd.GeoDataFrame):
        out["geom"] = frame.geometry.array
        return gpd.GeoDataFrame(out, geometry="geom", crs=frame.crs)
    return out


def _cut_column(frame: Frame, context: ReadContext, names: tuple[str, ...]) -> pd.Series:
    """CUT codes from a code column, else from a commune-name column, else all missing."""
    code = find_column(frame, names)
    if code is not None:
        return _text(frame, code)
    name = find_column(frame, ("comuna", "nom_comuna", "nombre_comuna", "commune"))
    if name is not None and context.commune_names:
        return frame[name].map(lambda v: context.commune_names.get(fold(v)) if v else None)
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _require_number(frame: Frame, column: str, outcome: ValidationOutcome, label: str) -> Frame:
    return outcome.reject(frame, frame[column].isna(), f"{label} is missing or not a number")


# --- territory -----------------------------------------------------------------------------


def _territorial_codes(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    cols = require_columns(
        frame,
        {
            "cut": ("commune_id", "cut", "codigo_comuna"),
            "name": ("commune_name", "nombre_comuna", "comuna"),
            "province_code": ("province_id", "codigo_provincia"),
            "province_name": ("province_name", "nombre_provincia"),
            "region_code": ("region_id", "codigo_region"),
            "region_name": ("region_name", "nombre_region"),
        },
        path,
    )
    return _keep(
        frame,
        {
            "cut": _text(frame, cols["cut"]),
            "name": _text(frame, cols["name"]),
            "province_code": _text(frame, cols["province_code"]).str.zfill(3),
            "province_name": _text(frame, cols["province_name"]),
            "region_code": _text(frame, cols["region_code"]).str.zfill(2),
            "region_name": _text(frame, cols["region_name"]),
        },
    )


def _communes(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    cols = require_columns(
        frame,
        {
            "cut": ("codigo_comuna", "cut", "cod_comuna", "id_2002", "cut_com"),
            "name": ("nombre_comuna", "nombre", "comuna", "nom_comuna"),
        },
        path,
    )
    cut = _text(frame, cols["cut"]).map(lambda v: v.zfill(5) if v and v.isdigit() else v)
    province_code = _text(frame, find_column(frame, ("codigo_provincia", "cod_prov")))
    region_code = _text(frame, find_column(frame, ("codigo_region", "cod_reg", "region_id")))
    region_name = _text(frame, find_column(frame, ("nombre_region", "region")))
    name = _text(frame, cols["name"])
    return _keep(
        frame,
        {
            "cut": cut,
            # The boundary file folds accents; the INE names restore them where we have them.
            "name": [ctx.accented_names.get(c or "", n) for c, n in zip(cut, name, strict=True)],
            "province_code": province_code.fillna(cut.str[:3]).str.zfill(3),
            "province_name": _text(frame, find_column(frame, ("nombre_provincia", "provincia"))),
            "region_code": region_code.fillna(cut.str[:2]).str.zfill(2),
            "region_name": [
                ctx.accented_regions.get((c or "")[:2], r)
                for c, r in zip(cut, region_name, strict=True)
            ],
            "area_km2": float("nan"),
        },
    )


def _urban_zones(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    cols = require_columns(
        frame,
        {
            "geocode": ("geocodigo", "geocode"),
            "cut": ("codigo_comuna", "cut"),
            "population_2017": ("pob_2017", "personas", "poblacion"),
        },
        path,
    )
    return _keep(
        frame,
        {
            "geocode": _text(frame, cols["geocode"]),
            "cut": _text(frame, cols["cut"]),
            "population_2017": _number(frame, cols["population_2017"]),
        },
    )


_POPULATION_COLUMN = re.compile(r"^pob_(\d{4})_(total|urbana|rural)(_zonas)?$")


def _population(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    code = find_column(frame, ("cut", "codigo_comuna", "cod_comuna"))
    measures = {
        column: match
        for column in frame.columns
        if isinstance(column, str) and (match := _POPULATION_COLUMN.match(column))
    }
    if code is None or not measures:
        raise SchemaError(
            f"{path.name}: un archivo de población necesita una columna de código comunal (cut o "
            "codigo_comuna) y columnas pob_AAAA_total / pob_AAAA_urbana / pob_AAAA_rural; revise "
            "que --kind corresponda al archivo"
        )
    long = []
    for column, match in measures.items():
        part = pd.DataFrame(
            {
                SOURCE_ROW: frame[SOURCE_ROW],
                "cut": _text(frame, code),
                "year": int(match.group(1)),
                "area": match.group(2),
                "population": parse_number_column(frame[column]),
            }
        )
        long.append(part)
    result = pd.concat(long, ignore_index=True)
    return _require_number(result, "population", out, "population")


def _rural_classification(
    frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome
) -> Frame:
    cols = require_columns(
        frame,
        {
            "cut": ("cut", "codigo_comuna"),
            "classification": ("clasificacion",),
            "commune_type": ("tipo_com",),
        },
        path,
    )
    result = _keep(
        frame,
        {
            "cut": _text(frame, cols["cut"]),
            "classification": _text(frame, cols["classification"]),
            "commune_type": _number(frame, cols["commune_type"]),
            "population_2024": _number(frame, find_column(frame, ("tot_pers_res_2024",))),
        },
    )
    return _require_number(result, "commune_type", out, "TIPO_COM")


def _localities(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    cols = require_columns(
        frame,
        {
            "cut": ("codigo_comuna", "cut"),
            "name": ("localidad", "nombre"),
            "locality_type": ("tipo",),
        },
        path,
    )
    return _keep(
        frame,
        {
            "cut": _text(frame, cols["cut"]),
            "name": _text(frame, cols["name"]).fillna("Sin nombre"),
            "locality_type": _text(frame, cols["locality_type"]),
            "subtype": _text(frame, find_column(frame, ("subtipo",))),
            "inhabitants": _number(frame, find_column(frame, ("habitantes", "personas"))),
            "dwellings": _number(frame, find_column(frame, ("viviendas",))),
        },
    )


# --- water ---------------------------------------------------------------------------------


def _water_sources(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
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
    counts = {k: _number(frame, v) for k, v in cols.items() if k != "cut"}
    pct = _number(frame, find_column(frame, ("pct_viv_sin_red_publica",)))
    computed = 100 * (1 - counts["dwellings_public_network"] / counts["dwellings_with_data"])
    result = _keep(
        frame,
        {
            "cut": _text(frame, cols["cut"]),
            "year": 2017,
            **counts,
            "pct_without_public_network": pct.fillna(computed),
        },
    )
    return _require_number(result, "dwellings_with_data", out, "viv_con_dato_agua")


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
CUT_NAMES = ("cut", "cod_comuna", "cut_com", "codigo_comuna", "comunacodigo", "cod_com")


def _apr(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    found = {target: find_column(frame, names) for target, names in APR_COLUMNS.items()}
    if found["name"] is None:
        raise SchemaError(
            f"{path.name}: un archivo de APR/SSR necesita una columna con el nombre del sistema "
            f"(una de {', '.join(APR_COLUMNS['name'])}); revise que --kind corresponda al archivo"
        )
    result = _keep(
        frame,
        {
            "name": _text(frame, found["name"]),
            "cut": _cut_column(frame, ctx, CUT_NAMES),
            "connections": _number(frame, found["connections"]),
            "beneficiaries": _number(frame, found["beneficiaries"]),
            **{
                k: _text(frame, found[k])
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
    return out.reject(result, result["name"].isna(), "APR system without a name")


# --- services ------------------------------------------------------------------------------

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


def _facilities(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
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
        _text(frame, category_column)
        if layout is _FACILITY_LAYOUTS["generic"] and category_column
        else layout["category"]
    )
    source_id = _text(frame, col("source_id")).map(
        lambda v: v[:-2] if v and v.endswith(".0") else v
    )
    cut_column = col("cut")
    result = _keep(
        frame,
        {
            "source_id": source_id,
            "name": _text(frame, col("name")),
            "category": category,
            "facility_type": _text(frame, col("facility_type")),
            "level": _text(frame, col("level")),
            "operating_status": _text(frame, col("operating_status")),
            "ownership": _text(frame, col("ownership")),
            "cut": _text(frame, cut_column) if cut_column else _cut_column(frame, ctx, ()),
            "outside_declared_commune": False,
        },
    )
    result = out.reject(result, result["name"].isna(), "facility without a name")
    if layout is _FACILITY_LAYOUTS["educacion_mineduc"]:
        # The directory leaves LATITUD/LONGITUD empty for some schools: say so, by name.
        no_point = result.geometry.isna() | result.geometry.is_empty
        result = out.reject(result, no_point, "school without coordinates (LATITUD/LONGITUD)")
    statuses = result["operating_status"]
    closed_values = {s for s in statuses.dropna().unique() if fold(s) in CLOSED_STATUSES}
    closed = statuses.isin(closed_values)
    return out.reject(result, closed, "facility is closed (EstadoFuncionamiento = Cerrado)")


# --- social and finance --------------------------------------------------------------------


def _year_from(frame: Frame, path: Path) -> pd.Series | int:
    column = find_column(frame, ("año", "ano", "anio", "year", "agno"))
    if column is not None:
        return _number(frame, column)
    match = re.search(r"(19|20)\d{2}", path.stem)
    if match is None:
        raise SchemaError(
            f"{path.name}: no hay columna de año (año/year) ni un año en el nombre del archivo"
        )
    return int(match.group(0))


def _poverty(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    cols = require_columns(
        frame,
        {"cut": ("codigo", "cut", "codigo_comuna"), "rate": ("pobreza_p", "tasa", "rate")},
        path,
    )
    rate = _number(frame, cols["rate"])
    if rate.max() > 1:  # published as a percentage
        rate = rate / 100
    result = _keep(
        frame,
        {
            "cut": _text(frame, cols["cut"]),
            "year": _year_from(frame, path),
            "population": _number(frame, find_column(frame, ("poblacion",))),
            "poor_count": _number(frame, find_column(frame, ("pobreza_n",))),
            "rate": rate,
            "ci_lower": _number(frame, find_column(frame, ("limite_inferior", "ci_lower"))),
            "ci_upper": _number(frame, find_column(frame, ("limite_superior", "ci_upper"))),
            "measure": "multidimensional",
        },
    )
    result = _require_number(result, "rate", out, "poverty rate")
    outside = (result["rate"] < 0) | (result["rate"] > 1)
    return out.reject(result, outside, "poverty rate outside 0-1")


def _income_poverty(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    """MDSF small-area income poverty: percentages (0-100) with their 95 % interval."""
    cols = require_columns(
        frame,
        {
            "cut": ("codigo_comuna", "codigo", "cut"),
            "rate": ("tasa_pobreza_ingresos_pct", "pobreza_ingresos_pct"),
        },
        path,
    )
    result = _keep(
        frame,
        {
            "cut": _text(frame, cols["cut"]),
            "year": _year_from(frame, path),
            "population": _number(frame, None),
            "poor_count": _number(frame, None),
            "rate": _number(frame, cols["rate"]) / 100,
            "ci_lower": _number(frame, find_column(frame, ("limite_inferior_pct",))) / 100,
            "ci_upper": _number(frame, find_column(frame, ("limite_superior_pct",))) / 100,
            "measure": "income",
        },
    )
    result = _require_number(result, "rate", out, "income poverty rate")
    outside = (result["rate"] < 0) | (result["rate"] > 1)
    return out.reject(result, outside, "income poverty rate outside 0-100 %")


def _finance(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    cols = require_columns(frame, {"cut": ("cut_comuna", "cut", "codigo_comuna")}, path)
    result = _keep(
        frame,
        {
            "cut": _text(frame, cols["cut"]),
            "year": _year_from(frame, path),
            "municipality": _text(frame, find_column(frame, ("municipio",))),
            "income_total_mclp": _number(
                frame, find_column(frame, ("ingresos_municipales_total_mclp",))
            ),
            "spending_total_mclp": _number(
                frame, find_column(frame, ("gastos_municipales_total_devengado_mclp",))
            ),
            "investment_mclp": _number(frame, find_column(frame, ("inversion_municipal_mclp",))),
            "income_per_capita_clp": _number(
                frame, find_column(frame, ("ingresos_municipales_percapita_clp",))
            ),
            "own_income_per_capita_mclp": _number(
                frame, find_column(frame, ("ingresos_propios_permanentes_percapita_mclp",))
            ),
            "spending_per_capita_clp": _number(
                frame, find_column(frame, ("gasto_municipal_percapita_clp",))
            ),
            "population": _number(frame, find_column(frame, ("poblacion_comunal_ine",))),
            "density_per_km2": _number(frame, find_column(frame, ("densidad_pob_km2",))),
            "pct_rural": _number(frame, find_column(frame, ("pct_poblacion_rural",))),
        },
    )
    return _require_number(result, "year", out, "year")


def _informal_settlements(
    frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome
) -> Frame:
    cols = require_columns(frame, {"cut": ("cut", "codigo_comuna")}, path)
    return _keep(
        frame,
        {
            "source_id": _text(frame, find_column(frame, ("folio", "id"))),
            "cut": _text(frame, cols["cut"]),
            "name": _text(frame, find_column(frame, ("nombre", "name"))),
            "households": _number(frame, find_column(frame, ("n_hog", "hogares", "households"))),
            "hectares": _number(frame, find_column(frame, ("hectareas", "hectares"))),
        },
    )


# --- Huella Local portfolio ----------------------------------------------------------------


def _huella_presence(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    cols = require_columns(
        frame,
        {"cut": ("cut", "codigo_comuna"), "intervention": ("intervention", "intervencion")},
        path,
    )
    result = _keep(
        frame,
        {"cut": _text(frame, cols["cut"]), "intervention": _text(frame, cols["intervention"])},
    )
    return out.reject(result, result["intervention"].isna(), "intervention is missing")


_TYPOLOGIES = {
    fold(t): t
    for t in ("Equipamiento", "Espacios_Públicos", "Infraestructura_Vial", "Servicios_Básicos")
}


def _projects(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    cols = require_columns(
        frame,
        {
            "project_id": ("project_id", "id_proyecto", "codigo"),
            "cut": ("cut", "codigo_comuna"),
            "name": ("name", "nombre"),
            "typology": ("typology", "tipologia"),
        },
        path,
    )

    def money_clp(clp_names: tuple[str, ...], mclp_names: tuple[str, ...]) -> pd.Series:
        clp = find_column(frame, clp_names)
        if clp is not None:
            return _number(frame, clp)
        # M$ in Chilean public finance = thousands of pesos
        return _number(frame, find_column(frame, mclp_names)) * 1000

    has_point = ~(frame.geometry.isna() | frame.geometry.is_empty)
    precision = _text(frame, find_column(frame, ("location_precision", "precision")))
    precision = precision.where(precision.notna(), has_point.map({True: "exact", False: "commune"}))
    typology = _text(frame, cols["typology"]).map(lambda t: _TYPOLOGIES.get(fold(t or "")))
    result = _keep(
        frame,
        {
            "project_id": _text(frame, cols["project_id"]),
            "cut": _text(frame, cols["cut"]),
            "name": _text(frame, cols["name"]),
            "typology": typology,
            "stage": _text(frame, find_column(frame, ("stage", "etapa"))),
            "total_investment_clp": money_clp(
                ("total_investment_clp", "inversion_clp"), ("total_investment_mclp",)
            ),
            "private_contribution_clp": money_clp(
                ("private_contribution_clp", "aporte_privado_clp"), ("private_contribution_mclp",)
            ),
            "location_precision": precision,
            "source_note": _text(frame, find_column(frame, ("source_note", "fuente", "nota"))),
            "outside_declared_commune": False,
        },
    )
    result = out.reject(
        result,
        result["typology"].isna(),
        "typology is not one of Equipamiento, Espacios_Públicos, Infraestructura_Vial, "
        "Servicios_Básicos",
    )
    bad_precision = ~result["location_precision"].isin(("exact", "locality", "commune"))
    result = out.reject(result, bad_precision, "location_precision is not exact/locality/commune")
    # A point-less project is still a project: it counts for its commune.
    claims_point = result["location_precision"].isin(("exact",))
    missing_point = result.geometry.isna() | result.geometry.is_empty
    return out.reject(
        result, claims_point & missing_point, "location_precision is exact but no coordinates"
    )


# --- one-commune demo layers ---------------------------------------------------------------


def _villages(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    return _keep(
        frame,
        {
            "cut": _cut_column(frame, ctx, CUT_NAMES),
            "name": _text(frame, find_column(frame, ("nombre", "name", "poblado"))),
        },
    )


def _roads(frame: Frame, path: Path, ctx: ReadContext, out: ValidationOutcome) -> Frame:
    return _keep(
        frame,
        {
            "cut": _cut_column(frame, ctx, CUT_NAMES),
            # MOP/SUBTRANS (TIPOLOGIA, CARPETA) or OpenStreetMap (highway, surface) lines.
            "road_type": _text(
                frame, find_column(frame, ("tipologia", "tipo", "road_type", "highway"))
            ),
            "surface": _text(frame, find_column(frame, ("carpeta", "surface", "superficie"))),
            "length_m": _number(frame, find_column(frame, ("shape_leng", "length", "longitud"))),
            "walking_hours": _number(frame, find_column(frame, ("t_caminata", "horas"))),
        },
    )


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "territorial_codes",
            "territorial_codes",
            "SUBDERE",
            "official region/province/commune code list",
            _territorial_codes,
            key=("cut",),
        ),
        Kind(
            "communes",
            "communes",
            "INE/SUBDERE (chilemapas)",
            "commune boundaries",
            _communes,
            geometry_type="MULTIPOLYGON",
            key=("cut",),
        ),
        Kind(
            "urban_zones",
            "urban_zones",
            "INE Censo 2017",
            "urban census zones",
            _urban_zones,
            geometry_type="MULTIPOLYGON",
            key=("geocode",),
        ),
        Kind(
            "population",
            "population",
            "INE",
            "population by year and urban/rural area",
            _population,
            key=("cut", "year", "area"),
        ),
        Kind(
            "water_sources",
            "water_sources",
            "INE Censo 2017",
            "dwellings by drinking-water source",
            _water_sources,
            key=("cut",),
        ),
        Kind(
            "apr",
            "apr_systems",
            "MOP-DOH Servicios Sanitarios Rurales",
            "APR/SSR rural drinking-water systems",
            _apr,
            geometry_type="POINT",
            check_point_in_commune=True,
        ),
        Kind(
            "facilities",
            "facilities",
            "MINSAL-DEIS / MINEDUC / SUBTEL",
            "health, education and other service facilities",
            _facilities,
            geometry_type="POINT",
            check_point_in_commune=True,
        ),
        Kind(
            "huella_presence",
            "huella_presence",
            "Fundación Huella Local",
            "communes where the foundation works",
            _huella_presence,
            key=("cut", "intervention"),
        ),
        Kind(
            "projects",
            "project_sites",
            "Fundación Huella Local",
            "development projects with typology and stage",
            _projects,
            geometry_type="POINT",
            geometry_optional=True,
            check_point_in_commune=True,
            key=("project_id",),
        ),
        Kind(
            "localities",
            "localities",
            "INE Censo 2017",
            "localities and rural entities",
            _localities,
            drop_exact_duplicates=False,
        ),
        Kind(
            "rural_classification",
            "rural_classification",
            "ODEPA",
            "national rural policy class",
            _rural_classification,
            key=("cut",),
        ),
        Kind(
            "poverty",
            "poverty",
            "MDSF",
            "multidimensional poverty with confidence interval",
            _poverty,
            key=("cut",),
        ),
        Kind(
            "income_poverty",
            "poverty",
            "MDSF",
            "income poverty (small-area estimates) with confidence interval",
            _income_poverty,
            key=("cut",),
        ),
        Kind(
            "finance",
            "municipal_finance",
            "SUBDERE-SINIM",
            "municipal finance",
            _finance,
            key=("cut", "year"),
        ),
        Kind(
            "informal_settlements",
            "informal_settlements",
            "MINVU",
            "informal settlements (campamentos)",
            _informal_settlements,
            geometry_type="MULTIPOLYGON",
        ),
        Kind(
            "villages",
            "villages",
            "municipal demo layer",
            "village outlines",
            _villages,
            geometry_type="MULTIPOLYGON",
        ),
        Kind(
            "roads",
            "road_segments",
            "SUBTRANS / MOP",
            "road and trail network",
            _roads,
            geometry_type="MULTILINESTRING",
        ),
    )
}


def kind_named(name: str) -> Kind:
    """Return the kind called ``name``; raise a ValueError listing the kinds otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown kind {name!r}; choose one of {', '.join(KINDS)}") from None
