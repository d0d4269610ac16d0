"""Write the bad-input corpus of tests/test_bad_inputs.py (run once; the files are committed).

.venv/bin/python tests/bad_inputs/make_corpus.py
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point, Polygon

HERE = Path(__file__).resolve().parent
COYHAIQUE = (-72.0662, -45.5712)  # inside commune 11101
PASCUA = (-109.4267, -27.1500)  # Hanga Roa, commune 05201
JUAN_FERNANDEZ = (-78.8300, -33.6400)  # San Juan Bautista, commune 05104
COYHAIQUE_UTM = (260752, 4949020)  # COYHAIQUE in UTM 19S (EPSG:32719) metres


def feature(x: float, y: float, **properties: object) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [x, y]},
        "properties": properties,
    }


def geojson(name: str, features: list[dict], crs: str | None = None) -> None:
    document: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    (HERE / name).write_text(json.dumps(document), encoding="utf-8")


def main() -> None:
    x, y = COYHAIQUE
    (HERE / "empty.csv").write_bytes(b"")
    (HERE / "blank_lines.csv").write_text("\n\n  \n", encoding="utf-8")
    (HERE / "header_only").mkdir(exist_ok=True)
    (HERE / "header_only" / "ssr_coyhaique_11101.csv").write_text(
        "nombre,cut,latitud,longitud\n", encoding="utf-8"
    )
    good = json.dumps(
        {"type": "FeatureCollection", "features": [feature(x, y, nombre="APR A", cut="11101")]}
    )
    (HERE / "truncated.geojson").write_text(good[: len(good) // 2], encoding="utf-8")
    (HERE / "latin1.csv").write_bytes(
        "cut;intervention;nota\n11101;mesa_convergencia;Coyhaique año 2023\n".encode("latin-1")
    )
    (HERE / "utf16.csv").write_bytes("cut,intervention\n11101,mesa_convergencia\n".encode("utf-16"))
    (HERE / "binary.csv").write_bytes(bytes(range(256)) * 4)
    geojson("utm_without_crs.geojson", [feature(*COYHAIQUE_UTM, nombre="APR UTM", cut="11101")])
    geojson(
        "utm_declared.geojson",
        [feature(*COYHAIQUE_UTM, nombre="APR UTM", cut="11101")],
        crs="urn:ogc:def:crs:EPSG::32719",
    )
    geojson("points_as_communes.geojson", [feature(x, y, codigo_comuna="11101", nombre="X")])
    square = Polygon([(x, y), (x + 0.01, y), (x + 0.01, y + 0.01), (x, y + 0.01)])
    gpd.GeoDataFrame({"nombre": ["Posta"], "cut": ["11101"]}, geometry=[square], crs=4326).to_file(
        HERE / "polygons_as_facilities.geojson"
    )
    (HERE / "ragged.csv").write_text(
        "cut,intervention\n11101,mesa_convergencia\n11102,a,b,c\n", encoding="utf-8"
    )
    geojson(
        "huge_number.geojson",
        [
            feature(x, y, nombre="APR bien", cut="11101", cant_arr=120),
            feature(x, y + 0.001, nombre="APR enorme", cut="11101", cant_arr=1e308),
        ],
    )
    geojson(
        "negative_count.geojson",
        [
            feature(x, y, nombre="APR bien", cut="11101", benef_est=300),
            feature(x, y + 0.001, nombre="APR negativo", cut="11101", benef_est=-40),
        ],
    )
    (HERE / "infinite_coordinate.csv").write_text(
        f"nombre,cut,latitud,longitud\nAPR bien,11101,{y},{x}\nAPR infinito,11101,inf,{x}\n",
        encoding="utf-8",
    )
    (HERE / "infinite_only.csv").write_text(
        f"nombre,cut,latitud,longitud\nAPR infinito,11101,inf,{x}\n", encoding="utf-8"
    )
    (HERE / "exact_duplicates.csv").write_text(
        "cut,intervention\n11101,mesa_convergencia\n11101,mesa_convergencia\n11102,otra\n",
        encoding="utf-8",
    )
    (HERE / "duplicate_keys.csv").write_text(
        "codigo,pobreza_p,año\n11101,0.10,2022\n11101,0.20,2022\n11102,0.15,2022\n",
        encoding="utf-8",
    )
    frame = gpd.GeoDataFrame(
        {"nombre": ["APR A"], "cut": ["11101"]}, geometry=[Point(x, y)], crs=4326
    )
    (HERE / "lonely_shp").mkdir(exist_ok=True)
    frame.to_file(HERE / "lonely_shp" / "apr.shp")
    for suffix in (".shx", ".dbf", ".prj", ".cpg"):
        (HERE / "lonely_shp" / f"apr{suffix}").unlink(missing_ok=True)
    (HERE / "no_prj_shp").mkdir(exist_ok=True)
    frame.to_file(HERE / "no_prj_shp" / "apr.shp")
    (HERE / "no_prj_shp" / "apr.prj").unlink()
    multi = HERE / "multilayer.gpkg"
    multi.unlink(missing_ok=True)
    frame.to_file(multi, layer="sistemas")
    frame.assign(nombre="APR B").to_file(multi, layer="copia")
    # A GeoPackage cut in half: GDAL's error quotes its own SQL, which must not reach people.
    whole = multi.read_bytes()
    (HERE / "cut.gpkg").write_bytes(whole[: len(whole) // 2])
    bowtie = Polygon([(x, y), (x + 0.01, y + 0.01), (x + 0.01, y), (x, y + 0.01), (x, y)])
    gpd.GeoDataFrame(
        {"CUT": [11101], "NOMBRE": ["campamento"], "N_HOG": [12]}, geometry=[bowtie], crs=4326
    ).to_file(HERE / "self_intersecting.geojson")
    (HERE / "unknown_cut.csv").write_text(
        "cut,intervention\n11101,mesa_convergencia\n99999,mesa_convergencia\n", encoding="utf-8"
    )
    (HERE / "only_unknown_cuts.csv").write_text(
        "cut,intervention\n99998,mesa_convergencia\n99999,mesa_convergencia\n", encoding="utf-8"
    )
    (HERE / "wrong_columns.csv").write_text("codigo;otra\n11101;1\n", encoding="utf-8")
    (HERE / "spreadsheet.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    geojson("madrid.geojson", [feature(-3.70, 40.41, nombre="APR Madrid", cut="11101")])
    geojson(
        "partly_outside.geojson",
        [
            feature(x, y, nombre="APR bien", cut="11101"),
            feature(x, y + 0.001, nombre="APR bien 2", cut="11101"),
            feature(-3.70, 40.41, nombre="APR Madrid", cut="11101"),
        ],
    )
    geojson(
        "islands.geojson",
        [
            feature(*PASCUA, nombre="APR Rapa Nui", cut="05201"),
            feature(*JUAN_FERNANDEZ, nombre="APR Robinson Crusoe", cut="05104"),
        ],
    )
    (HERE / "no_coordinates.csv").write_text("nombre,cut\nAPR A,11101\n", encoding="utf-8")
    (HERE / "nan_count.csv").write_text(
        f"nombre,cut,latitud,longitud,cant_arr\nAPR bien,11101,{y},{x},nan\n", encoding="utf-8"
    )
    (HERE / "duplicate_communes.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": json.loads(gpd.GeoSeries([square]).to_json())["features"][0][
                            "geometry"
                        ],
                        "properties": {"codigo_comuna": "11101", "nombre_comuna": "Coyhaique"},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    write_trust_cases()
    write_unit_cases()
    write_place_cases()
    write_source_cases()


def write_trust_cases() -> None:
    """Files that look right but are not (issue 16): cut files, shrinking reloads, fractions."""
    x, y = COYHAIQUE
    header = "nombre,cut,latitud,longitud,cant_arr,benef_est\n"
    rows = [f"APR {i},11101,{y + i * 0.001:.4f},{x},{40 + i},{120 + i}\n" for i in range(12)]
    (HERE / "cut").mkdir(exist_ok=True)
    # A copy that stopped mid-row, over the loaded 14 systems: 11 rows and a half.
    (HERE / "cut" / "ssr_coyhaique_11101.csv").write_text(
        header + "".join(rows[:11]) + rows[11][:22], encoding="utf-8"
    )
    (HERE / "unclosed_quote.csv").write_text(
        header + "".join(rows[:3]) + f'"APR sin cerrar,11101,{y},{x},10,30\n', encoding="utf-8"
    )
    (HERE / "shrunk").mkdir(exist_ok=True)
    # Complete and well formed, but 12 systems where 14 are loaded.
    (HERE / "shrunk" / "ssr_coyhaique_11101.csv").write_text(
        header + "".join(rows), encoding="utf-8"
    )
    (HERE / "fractional_connections.csv").write_text(
        header + rows[0] + f"APR medio,11101,{y + 0.02},{x},3.5,120\n", encoding="utf-8"
    )
    (HERE / "fractional_inhabitants.csv").write_text(
        "codigo_comuna;localidad;tipo;habitantes;viviendas\n"
        "11101;El Blanco;Aldea;250;80\n11101;Villa Ortega;Caserío;12,5;4\n",
        encoding="utf-8",
    )
    (HERE / "projects_without_coordinates.csv").write_text(
        "project_id,cut,name,typology,stage\n"
        "HL-01,11101,Sede social,Equipamiento,diseño\n"
        "HL-02,11101,Sin tipología,,diseño\n",
        encoding="utf-8",
    )
    (HERE / "Agua potable Ñuble 2024.csv").write_text(
        "cut,intervention\n11101,mesa_convergencia\n", encoding="utf-8"
    )


def write_unit_cases() -> None:
    """Copies of the real MDSF poverty files with units mixed or intervals broken (issue 16)."""
    social = HERE.parents[2] / "shared" / "data" / "chile" / "social"
    lines = (social / "pobreza_multidimensional_comunal_2022.csv").read_text("utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    fields = [row.split(";") for row in rows]
    (HERE / "units").mkdir(exist_ok=True)

    def write(name: str, first: str, body: list[list[str]]) -> None:
        text = "\n".join([first, *(";".join(row) for row in body)]) + "\n"
        (HERE / "units" / name).write_text(text, encoding="utf-8")

    def percent(text: str) -> str:
        return repr(float(text.replace(",", ".")) * 100).replace(".", ",") if text else text

    # Iquique typed as a percentage among 345 shares: the whole file was divided by 100.
    write(
        "pobreza_un_porcentaje_2022.csv",
        header,
        [[*fields[0][:5], "18,27", *fields[0][6:]], *fields[1:]],
    )
    # The same figures published as percentages, rate and interval alike: loads as shares.
    write(
        "pobreza_porcentajes_2022.csv",
        header,
        [[*row[:5], *(percent(value) for value in row[5:])] for row in fields],
    )
    # Alto Hospicio's bounds swapped: that row is rejected, the others load.
    swapped = [*fields[1][:6], fields[1][7], fields[1][6]]
    write("pobreza_intervalo_invertido_2022.csv", header, [fields[0], swapped, *fields[2:]])
    # Every lower bound under the upper bound's header: the file is refused.
    write(
        "pobreza_limites_intercambiados_2022.csv",
        header.replace("limite_inferior", "TMP")
        .replace("limite_superior", "limite_inferior")
        .replace("TMP", "limite_superior"),
        fields,
    )
    # Income poverty declared in percent (_pct) but written as shares.
    income = (social / "pobreza_ingresos_comunal_2022.csv").read_text("utf-8").splitlines()
    shares = []
    for line in income[1:]:
        cells = line.split(",")
        cells[3:6] = [repr(float(cell) / 100) for cell in cells[3:6]]
        shares.append(",".join(cells))
    (HERE / "units" / "pobreza_ingresos_proporciones_2022.csv").write_text(
        "\n".join([income[0], *shares]) + "\n", encoding="utf-8"
    )


def write_place_cases() -> None:
    """Points that are not where they say (issue 16, plausible places)."""
    x, y = COYHAIQUE
    good = feature(x, y, nombre="APR bien", cut="11101")
    header = "nombre,cut,latitud,longitud\n"
    # Punta Arenas (-70.9167, -53.1667) with latitude and longitude swapped: the Antarctic box.
    (HERE / "swapped_punta_arenas.csv").write_text(
        header + f"APR bien,11101,{y},{x}\nAPR invertido,12101,-70.9167,-53.1667\n",
        encoding="utf-8",
    )
    (HERE / "swapped_file.csv").write_text(
        header + "APR 1,12101,-70.9167,-53.1667\nAPR 2,12101,-70.9000,-53.1500\n",
        encoding="utf-8",
    )
    geojson(
        "mendoza_declared_santiago.geojson",
        [good, feature(-68.8272, -32.8895, nombre="APR Mendoza", cut="13101")],
    )
    geojson(
        "at_sea_off_valparaiso.geojson",
        [good, feature(-74.85, -33.05, nombre="APR en el mar", cut="05101")],
    )
    geojson(
        "coyhaique_declared_santiago.geojson",
        [good, feature(x, y + 0.002, nombre="APR lejos", cut="13101")],
    )
    geojson(
        "antarctic_declared_coyhaique.geojson",
        [good, feature(-58.9667, -62.2, nombre="Villa Las Estrellas", cut="11101")],
    )


def write_source_cases() -> None:
    """Second sources and repeated keys built from the real files (issue 16, one source)."""
    data = HERE.parents[2] / "shared" / "data" / "chile"
    (HERE / "source").mkdir(exist_ok=True)
    poverty = (data / "social" / "pobreza_multidimensional_comunal_2022.csv").read_text("utf-8")
    header, *rows = poverty.splitlines()
    alto_hospicio = next(row.split(";") for row in rows if row.startswith("1107;"))

    def rounded(text: str) -> str:
        return f"{float(text.replace(',', '.')):.3f}".replace(".", ",")

    # A hand-typed "correction" of Alto Hospicio (its published figures, rounded), meant to
    # sit beside the official file: a second source for one commune.
    correction = [*alto_hospicio[:5], *(rounded(value) for value in alto_hospicio[5:])]
    (HERE / "source" / "pobreza_correccion_alto_hospicio_2022.csv").write_text(
        f"{header}\n{';'.join(correction)}\n", encoding="utf-8"
    )
    # Iquique twice in one census water file: its own row, then Alto Hospicio's counts.
    water = (data / "water" / "censo2017_origen_agua_viviendas_comuna.csv").read_text("utf-8")
    water_header, *water_rows = water.splitlines()
    iquique = next(row.split(",") for row in water_rows if row.startswith("01101,"))
    other = next(row.split(",") for row in water_rows if row.startswith("01107,"))
    (HERE / "source" / "agua_iquique_dos_veces.csv").write_text(
        "\n".join([water_header, ",".join(iquique), ",".join([*iquique[:5], *other[5:]])]) + "\n",
        encoding="utf-8",
    )
    # One real Coyhaique water system, loaded under another name beside the official layer.
    systems = json.loads((data / "water" / "ssr_coyhaique_11101.geojson").read_text("utf-8"))
    systems["features"] = systems["features"][:1]
    (HERE / "source" / "apr_coyhaique_segunda_fuente.geojson").write_text(
        json.dumps(systems, ensure_ascii=False), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
