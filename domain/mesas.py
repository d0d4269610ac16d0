"""Vocabulary of a Mesa de Convergencia's workspace: roles, states, criteria, entities.

A Mesa (public–private table of one or more communes) records a *matriz de priorización*
(needs/problems against resources/potentials, scored by participatory criteria), its
*iniciativas*, the *compromisos* of each member and a *matriz de seguimiento* (progress,
critical knots, agreed solutions, next step) with *hitos*. The typologies, stages and kinds of
member are those of :mod:`domain.projects` (one source of truth).
"""

from __future__ import annotations

from typing import Final

from domain.projects import ACTOR_TYPES, PROJECT_STAGES, PROJECT_TYPOLOGIES

__all__ = [
    "ACTOR_TYPES",
    "COMMITMENT_STATES",
    "DEFAULT_CRITERIA",
    "ENTITY_LABELS",
    "MILESTONE_KINDS",
    "OPEN_COMMITMENT_STATES",
    "PROJECT_STAGES",
    "PROJECT_TYPOLOGIES",
    "ROLES",
    "SCORE_MAX",
    "SCORE_MIN",
]

#: Roles of a member's token: coordinación edits the whole Mesa, miembro edits its own
#: commitments and follow-up, lectura only reads.
ROLES: Final = ("coordinacion", "miembro", "lectura")
#: States of a commitment; "atrasado" is never stored: it is derived from the due date.
COMMITMENT_STATES: Final = ("pendiente", "en curso", "cumplido", "cancelado")
#: States in which a commitment past its due date is late.
OPEN_COMMITMENT_STATES: Final = ("pendiente", "en curso")
#: Kinds of milestone a Mesa communicates.
MILESTONE_KINDS: Final = ("acuerdo firmado", "sesión de mesa", "hito de iniciativa", "otro")
#: Lowest and highest score of a participatory criterion.
SCORE_MIN: Final = 1
SCORE_MAX: Final = 5
#: Participatory criteria of a new Mesa's matrix (id, label, weight); the Mesa may change them.
DEFAULT_CRITERIA: Final = (
    ("magnitud", "Magnitud", 1.0),
    ("urgencia", "Urgencia", 1.0),
    ("factibilidad", "Factibilidad", 1.0),
    ("prioridad_comunitaria", "Prioridad comunitaria", 1.0),
)
#: Entity id → the words shown in the history.
ENTITY_LABELS: Final[dict[str, str]] = {
    "mesa": "mesa",
    "miembro": "miembro",
    "fila_matriz": "fila de la matriz",
    "iniciativa": "iniciativa",
    "compromiso": "compromiso",
    "seguimiento": "seguimiento",
    "hito": "hito",
}
