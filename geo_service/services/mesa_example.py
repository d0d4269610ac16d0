"""The example Mesa, for demonstrations and tests, built only from facts of the seed documents.

Source: the Huella Local presentation "Mesas de Convergencia para el Desarrollo Local" (2023,
``shared/seeds/huella_local_mesas_de_convergencia_2023.txt``), which reproduces the article
"Alianza público-privada desarrolla diez proyectos de alto impacto en San Pedro" (El Líder,
sábado 25 de marzo de 2023): the Mesa of San Pedro (Región Metropolitana, CUT 13505), led by the
municipality and Fundación Huella Local with four sponsoring companies; ten projects in design
(966 millones de pesos of investment; 76 millones of private contribution to their design);
the CCTV cameras approved by the Gobierno Regional (circular 33) and in tender.

What the article does not say stays missing: no amount per initiative (only the totals, kept in
the follow-up entry), no criteria scores (the combined priority is "sin dato"), no commitment
(the article states no due date or state). Typologies are those of the catalogue whose
description names the kind of project (``analysis/catalogue/challenges.toml``), and matrix rows
link to the challenges the catalogue gives those typologies. Everything is labelled EJEMPLO.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from geo_service.services.mesas import add, create_mesa
from layers.mesas import MesaRecords
from layers.stores import Store

SAN_PEDRO: Final = "13505"
PUBLISHED: Final = date(2023, 3, 25)
SOURCE: Final = "El Líder, 25-03-2023, en la presentación Huella Local 2023"
NAME: Final = "EJEMPLO · Mesa de Convergencia por el Desarrollo Local de San Pedro"

MEMBERS: Final = (
    ("Emilio Cerda, alcalde", "municipio", "Municipalidad de San Pedro", "coordinacion"),
    ("Representante de Agrosuper", "empresa", "Agrosuper", "miembro"),
    ("Representante de Agrícola Monte Oscuro", "empresa", "Agrícola Monte Oscuro", "miembro"),
    ("Representante de Ferretería Punteo Vip", "empresa", "Ferretería Punteo Vip", "miembro"),
    ("Representante de Agroservicios de Chile", "empresa", "Agroservicios de Chile", "miembro"),
    (
        "Claudia Bustos, presidenta",
        "comunidad",
        "Unión Comunal de Vecinos de San Pedro",
        "miembro",
    ),
)
#: Needs the projects answer, with the challenge the catalogue gives their typology.
MATRIX: Final = (
    ("Seguridad en el espacio público (televigilancia)", "rural_urbano"),
    ("Salud primaria rural: estación médica rural Santa Rosa y posta El Prado", "conectividad"),
    ("Movilidad de salud y de emergencia (vehículos de salud y de Bomberos)", "rural_urbano"),
    ("Accesibilidad universal de las escuelas rurales", "rural_urbano"),
)
#: Projects as the article lists them: name, typology, stage, funding source, matrix row.
INITIATIVES: Final = (
    ("Adquisición de vehículos de salud", "Equipamiento", "diseño", None, 3),
    ("Adquisición de vehículos para Bomberos", "Equipamiento", "diseño", None, 3),
    (
        "Adquisición de cámaras de televigilancia",
        "Equipamiento",
        "financiada",
        "Gobierno Regional (circular 33), aprobado y en licitación",
        1,
    ),
    (
        "Normalización de la Estación Médica Rural Santa Rosa y de la posta El Prado",
        "Servicios_Básicos",
        "diseño",
        None,
        2,
    ),
    (
        "Mejoramiento con accesibilidad universal de las escuelas de Corneche, Enrique Reymond, "
        "Loica Arriba, Santa Rosa, Nihue Bajo, el Liceo Enseñanza, Escuela Lo Encañado, "
        "Atalicio Aguilar y La Manga",
        "Equipamiento",
        "diseño",
        None,
        4,
    ),
)


def create_example(store: Store, records: MesaRecords) -> dict[str, Any]:
    """Create the example Mesa; return its id and the coordination token (shown once)."""
    created = create_mesa(
        store,
        records,
        {
            "nombre": NAME,
            "comunas": [SAN_PEDRO],
            "coordinador": {
                "nombre": "Jenny Carmona, directora de la zona central",
                "tipo_actor": "fundación",
                "organizacion": "Fundación Huella Local",
            },
        },
    )
    caller = {**created["miembro"], "mesa_id": created["id"]}
    for nombre, actor, organizacion, rol in MEMBERS:
        member = {"nombre": nombre, "tipo_actor": actor, "organizacion": organizacion, "rol": rol}
        add(store, records, caller, "miembro", member)
    for necesidad, desafio in MATRIX:
        add(store, records, caller, "fila_matriz", {"necesidad": necesidad, "desafio": desafio})
    for nombre, tipologia, etapa, fuente, row in INITIATIVES:
        body: dict[str, Any] = {
            "nombre": nombre,
            "tipologia": tipologia,
            "etapa": etapa,
            "fuente_financiamiento": fuente,
            "filas_matriz": [row],
        }
        add(store, records, caller, "iniciativa", body)
    add(
        store,
        records,
        caller,
        "hito",
        {
            "fecha": PUBLISHED,
            "tipo": "sesión de mesa",
            "titulo": "Sesión de la Mesa que revisó el avance de diez proyectos en diseño "
            f"({SOURCE}: «esta semana»)",
        },
    )
    add(
        store,
        records,
        caller,
        "seguimiento",
        {
            "fecha": PUBLISHED,
            "avance": "Diez proyectos de infraestructura y equipamiento en diseño, con una "
            "inversión de 966 millones de pesos; aporte privado de 76 millones de pesos al "
            "diseño (Agrosuper, Agrícola Monte Oscuro, Ferretería Punteo Vip y Agroservicios "
            "de Chile). Cámaras de televigilancia aprobadas por el Gobierno Regional "
            f"(circular 33), en licitación. Fuente: {SOURCE}.",
            "nudos_criticos": "«Los municipios muchas veces no contamos con los recursos para "
            "llevar adelante estos proyectos» (alcalde Emilio Cerda).",
            "soluciones": "El municipio postulará las iniciativas a fondos públicos (Gobierno "
            "Regional, Subdere u otros).",
            "proximo_paso": "Inicio de ejecución de las cámaras de televigilancia; aprobación de "
            "los proyectos de vehículos de salud y de Bomberos; actividades con las comunidades "
            "para informar los avances; cartera de 10 a 14 proyectos a factibilizar en 2023.",
        },
    )
    return created
