"""Development projects of the Mesas de Convergencia and who sits at a Mesa.

The four typologies are those of the Huella Local portfolio (234 projects in 2017–2023); the
catalogue (``analysis/catalogue/challenges.toml``) says which challenges each one addresses and
must name exactly these.
"""

from __future__ import annotations

from typing import Final

#: Project typology ids as the project files and the ``project_sites`` table write them.
PROJECT_TYPOLOGIES: Final = (
    "Equipamiento",
    "Espacios_Públicos",
    "Infraestructura_Vial",
    "Servicios_Básicos",
)
#: Typology id → the words shown to people.
TYPOLOGY_LABELS: Final[dict[str, str]] = {t: t.replace("_", " ") for t in PROJECT_TYPOLOGIES}
#: Stages of an initiative, from the first idea to its end.
PROJECT_STAGES: Final = (
    "idea",
    "perfil",
    "diseño",
    "financiada",
    "en ejecución",
    "terminada",
    "descartada",
)
#: How precisely a project is located.
LOCATION_PRECISIONS: Final = ("exact", "locality", "commune")
#: Kinds of member of a Mesa de Convergencia.
ACTOR_TYPES: Final = (
    "municipio",
    "gobierno regional",
    "empresa",
    "comunidad",
    "fundación",
    "servicio público",
)
