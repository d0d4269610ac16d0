"""The versioned challenge catalogue: challenges, indicators, weights and targets as data.

The catalogue ships as ``analysis/catalogue/challenges.toml``. Planners change it without code:
an override mapping (read by the CLI from a TOML or YAML file) may re-weight indicators and
challenges, edit any field of an existing indicator or challenge, or add new ones whose
``variable`` is a column produced by :func:`analysis.indicators.compute_indicators`.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from domain.errors import InvalidInputError, UnknownIdError
from domain.projects import PROJECT_TYPOLOGIES

Direction = Literal["higher_is_worse", "lower_is_worse"]

#: Spanish spellings of the directions accepted in catalogue files.
_DIRECTION_SYNONYMS = {
    "mayor_es_peor": "higher_is_worse",
    "menor_es_peor": "lower_is_worse",
    "higher": "higher_is_worse",
    "lower": "lower_is_worse",
}
_IDENTIFIER = r"^[a-z][a-z0-9_]*$"
#: Keys of an override mapping that are not plain ``{id: weight}`` entries.
_OVERRIDE_SECTIONS = {
    "version",
    "composite_id",
    "composite_label",
    "settings",
    "challenges",
    "indicators",
    "weights",
    "typologies",
}
PACKAGED_CATALOGUE = "challenges.toml"


class Indicator(BaseModel):
    """One indicator of a challenge.

    Attributes
    ----------
    id : str
        Identifier, also the default input column (see ``variable``).
    challenge : str
        Identifier of the challenge the indicator belongs to.
    label : str
        Spanish label shown to planners.
    short_label : str or None
        Short Spanish label for one-line explanations; defaults to ``label``.
    unit : str
        Unit of the raw value, as shown to planners.
    source : str
        Source institution and product.
    dataset : str
        Dataset name of the source in the stores.
    year : int or None
        Reference year of the data, when published.
    direction : {"higher_is_worse", "lower_is_worse"}
        Whether a larger raw value means a larger gap or the reverse.
    weight : float
        Default weight inside its challenge (relative; only ratios matter).
    target : float or None
        Target value for the distance-to-target normalisation, in raw units.
    skewed : bool
        Whether the indicator is strongly skewed and is log-transformed when the outlier
        treatment asks for it.
    variable : str or None
        Column of :func:`compute_indicators` holding the raw value; defaults to ``id``.
    interval : tuple of two str, or None
        Columns of :func:`compute_indicators` holding the published 95 % confidence interval
        (lower, upper) of an estimate; the uncertainty analysis samples the value within it.
    notes : str or None
        Caveats shown in the methodology and explanations.
    layer : str or None
        Point layer (store table) the value needs: where that layer does not cover a commune
        the value does not exist ("sin dato", with the layer's coverage as the reason).
    min_scope_share : float or None
        Share of a scope's communes that must have a value for the indicator to enter that
        scope's scores; the catalogue's ``settings.min_indicator_share`` when omitted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_IDENTIFIER)
    challenge: str = Field(pattern=_IDENTIFIER)
    label: str = Field(min_length=1)
    short_label: str | None = None
    unit: str
    source: str
    dataset: str
    year: int | None = None
    direction: Direction
    weight: float = Field(ge=0.0, allow_inf_nan=False)
    target: float | None = Field(default=None, allow_inf_nan=False)
    skewed: bool = False
    variable: str | None = None
    interval: tuple[str, str] | None = None
    notes: str | None = None
    layer: str | None = None
    min_scope_share: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("direction", mode="before")
    @classmethod
    def _canonical_direction(cls, value: object) -> object:
        if isinstance(value, str):
            return _DIRECTION_SYNONYMS.get(value.strip().lower(), value.strip().lower())
        return value

    @property
    def column(self) -> str:
        """Return the input column holding the raw value."""
        return self.variable or self.id

    @property
    def sentence_label(self) -> str:
        """Return the label used inside explanation sentences."""
        return self.short_label or self.label[0].lower() + self.label[1:]


class Challenge(BaseModel):
    """A territorial challenge: a group of indicators with a weight in the composite."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_IDENTIFIER)
    label: str = Field(min_length=1)
    description: str = ""
    weight: float = Field(ge=0.0, allow_inf_nan=False)


class Typology(BaseModel):
    """A project typology of the Mesas de Convergencia and the challenges it addresses.

    Attributes
    ----------
    id : str
        Typology as written in ``project_sites.typology`` (:data:`domain.PROJECT_TYPOLOGIES`).
    label : str
        Spanish label shown to planners.
    challenges : tuple of str
        Challenge ids the typology addresses; the first one is its main challenge.
    description : str
        What kind of projects the typology covers.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    label: str = Field(min_length=1)
    challenges: tuple[str, ...] = Field(min_length=1)
    description: str = ""


class CatalogueSettings(BaseModel):
    """How the raw indicators are computed from the input tables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    population_dataset: str = "ine_proyecciones_urbana_rural_comuna"
    population_year: int = 2024
    health_category: str = "salud"
    primary_care_types: tuple[str, ...] = ()
    hospital_types: tuple[str, ...] = ("Hospital",)
    cesfam_level_types: tuple[str, ...] = (
        "Centro de Salud Familiar (CESFAM)",
        "Consultorio General Rural (CGR)",
        "Consultorio General Urbano (CGU)",
        "Hospital",
    )
    school_category: str = "educacion"
    #: Resolution (m) of the stored accessibility results the indicators read; the finest
    #: stored one when this one is not stored.
    accessibility_resolution_m: int = Field(default=1000, ge=100)
    rural_locality_types: tuple[str, ...] = ("Localidad rural",)
    excluded_locality_subtypes: tuple[str, ...] = ("Indeterminada",)
    apr_deficient_statuses: tuple[str, ...] = ("Insuficiente",)
    rural_points_per_commune: int = Field(default=100, ge=1, le=10_000)
    rural_min_area_km2: float = Field(default=1.0, ge=0.0)
    #: An indicator with values for less than this share of a scope's communes is left out
    #: of that scope's scores (each indicator may set its own ``min_scope_share``).
    min_indicator_share: float = Field(default=0.5, ge=0.0, le=1.0)


class Catalogue(BaseModel):
    """The whole challenge catalogue, validated.

    Attributes
    ----------
    version : str
        Catalogue version; ``+override`` is appended when an override changed it.
    composite_id : str
        Identifier of the composite across challenges.
    composite_label : str
        Spanish label of the composite.
    settings : CatalogueSettings
        How raw indicators are computed.
    challenges : tuple of Challenge
        Challenges in display order.
    indicators : tuple of Indicator
        Indicators in display order.
    typologies : tuple of Typology
        Project typologies and the challenges each addresses: none, or exactly
        :data:`domain.PROJECT_TYPOLOGIES`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    composite_id: str = Field(default="compuesto", pattern=_IDENTIFIER)
    composite_label: str = "Índice compuesto de brechas"
    settings: CatalogueSettings = CatalogueSettings()
    challenges: tuple[Challenge, ...]
    indicators: tuple[Indicator, ...]
    typologies: tuple[Typology, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        challenge_ids = [challenge.id for challenge in self.challenges]
        indicator_ids = [indicator.id for indicator in self.indicators]
        _require_unique(challenge_ids, "desafío")
        _require_unique(indicator_ids, "indicador")
        shared = set(challenge_ids) & set(indicator_ids)
        if shared:
            raise ValueError(f"Identificadores usados a la vez por desafío e indicador: {shared}")
        if self.composite_id in challenge_ids or self.composite_id in indicator_ids:
            raise ValueError(f"El id del compuesto {self.composite_id!r} ya está en uso")
        if not self.challenges:
            raise ValueError("El catálogo no tiene desafíos")
        for indicator in self.indicators:
            if indicator.challenge not in challenge_ids:
                raise ValueError(
                    f"El indicador {indicator.id!r} pertenece a un desafío desconocido "
                    f"{indicator.challenge!r}"
                )
        for challenge in self.challenges:
            if not any(i.weight > 0 for i in self.indicators_of(challenge.id)):
                raise ValueError(
                    f"Asigne peso a al menos un indicador de «{challenge.label}»: todos sus "
                    "indicadores tienen peso 0 (ninguno con peso positivo)"
                )
        if not any(challenge.weight > 0 for challenge in self.challenges):
            raise ValueError(
                "Asigne peso a al menos un desafío: todos tienen peso 0 en el compuesto "
                "(ninguno con peso positivo)"
            )
        _require_unique([typology.id for typology in self.typologies], "tipología")
        named = {typology.id for typology in self.typologies}
        if named and named != set(PROJECT_TYPOLOGIES):
            raise ValueError(
                f"Las tipologías del catálogo ({', '.join(sorted(named))}) deben ser "
                f"exactamente {', '.join(PROJECT_TYPOLOGIES)}"
            )
        for typology in self.typologies:
            unknown = [c for c in typology.challenges if c not in challenge_ids]
            if unknown:
                raise ValueError(
                    f"La tipología {typology.id!r} apunta a desafíos desconocidos: "
                    f"{', '.join(unknown)}"
                )
        return self

    @property
    def challenge_ids(self) -> tuple[str, ...]:
        """Return the challenge identifiers, without the composite."""
        return tuple(challenge.id for challenge in self.challenges)

    @property
    def score_ids(self) -> tuple[str, ...]:
        """Return every scored identifier: the challenges, then the composite."""
        return (*self.challenge_ids, self.composite_id)

    def indicators_of(self, challenge_id: str) -> tuple[Indicator, ...]:
        """Return the indicators of one challenge, in catalogue order."""
        return tuple(i for i in self.indicators if i.challenge == challenge_id)

    def challenge(self, challenge_id: str) -> Challenge:
        """Return one challenge by id.

        Raises
        ------
        UnknownIdError
            If the id is not a challenge of the catalogue (also a ``KeyError``).
        """
        for challenge in self.challenges:
            if challenge.id == challenge_id:
                return challenge
        raise UnknownIdError(
            f"Desafío desconocido {challenge_id!r}; disponibles: {', '.join(self.score_ids)}"
        )

    def indicator(self, indicator_id: str) -> Indicator:
        """Return one indicator by id.

        Raises
        ------
        UnknownIdError
            If the id is not an indicator of the catalogue (also a ``KeyError``).
        """
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise UnknownIdError(f"Indicador desconocido {indicator_id!r}")

    def typologies_for(self, challenge_id: str) -> tuple[Typology, ...]:
        """Return the typologies addressing one challenge, main-challenge ones first."""
        main = [t for t in self.typologies if t.challenges[0] == challenge_id]
        other = [t for t in self.typologies if challenge_id in t.challenges[1:]]
        return (*main, *other)

    def label_of(self, score_id: str) -> str:
        """Return the Spanish label of a challenge or of the composite."""
        if score_id == self.composite_id:
            return self.composite_label
        return self.challenge(score_id).label


def _require_unique(ids: Sequence[str], kind: str) -> None:
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"Id de {kind} repetido en el catálogo: {', '.join(duplicated)}")


def packaged_catalogue_text() -> str:
    """Return the text of the catalogue TOML shipped with the package."""
    return (resources.files("analysis") / "catalogue" / PACKAGED_CATALOGUE).read_text("utf-8")


@functools.lru_cache(maxsize=1)
def _packaged_catalogue() -> Catalogue:
    """The packaged catalogue, parsed once per process (a frozen model, safe to share)."""
    return Catalogue.model_validate(tomllib.loads(packaged_catalogue_text()))


def load_catalogue(override: Mapping[str, Any] | None = None) -> Catalogue:
    """Load the packaged catalogue, optionally merged with a planner's override.

    Parameters
    ----------
    override : mapping, optional
        Parsed TOML/YAML override. Accepted keys: ``weights`` (``{id: weight}`` for
        indicators and challenges), ``indicators`` and ``challenges`` (a list of tables or
        a mapping ``{id: table}``; an existing id is updated field by field, a new id is
        added and must give every required field), ``settings`` (partial update),
        ``version``, ``composite_id``, ``composite_label``. Any other top-level key must be
        an indicator or challenge id mapped to a number, i.e. a flat weights file.

    Returns
    -------
    Catalogue
        The validated catalogue. Unless the override sets ``version``, ``+override`` is
        appended to the packaged version so run records show the change.

    Raises
    ------
    pydantic.ValidationError
        If the merged catalogue is invalid (a ``ValueError``; its message lists the problems).
    InvalidInputError
        If an override entry has no ``id``.
    UnknownIdError
        If a weight refers to an unknown id (also a ``KeyError``).
    """
    if not override:
        return _packaged_catalogue()
    base: dict[str, Any] = tomllib.loads(packaged_catalogue_text())
    flat_weights = {k: v for k, v in override.items() if k not in _OVERRIDE_SECTIONS}
    merged = dict(base)
    merged["version"] = str(override.get("version", f"{base['version']}+override"))
    for key in ("composite_id", "composite_label"):
        if key in override:
            merged[key] = override[key]
    if "settings" in override:
        merged["settings"] = {**base.get("settings", {}), **dict(override["settings"])}
    for section in ("challenges", "indicators", "typologies"):
        if section in override:
            merged[section] = _merge_by_id(base.get(section, []), override[section], section)
    catalogue = Catalogue.model_validate(merged)
    weights = {**dict(override.get("weights", {})), **flat_weights}
    return apply_weights(catalogue, weights) if weights else catalogue


def _merge_by_id(
    base: list[dict[str, Any]], changes: Sequence[Any] | Mapping[str, Any], section: str
) -> list[dict[str, Any]]:
    """Merge override tables into the base list of tables, matching on ``id``."""
    if isinstance(changes, Mapping):
        items = [{"id": key, **dict(value)} for key, value in changes.items()]
    else:
        items = [dict(item) for item in changes]
    merged = [dict(table) for table in base]
    position = {table["id"]: index for index, table in enumerate(merged)}
    for item in items:
        if "id" not in item:
            raise InvalidInputError(
                f"Cada entrada de {section!r} en la personalización necesita 'id'"
            )
        if item["id"] in position:
            merged[position[item["id"]]].update(item)
        else:
            position[item["id"]] = len(merged)
            merged.append(item)
    return merged


def apply_weights(catalogue: Catalogue, weights: Mapping[str, Any]) -> Catalogue:
    """Return a copy of the catalogue with new indicator and challenge weights.

    Parameters
    ----------
    catalogue : Catalogue
        The catalogue to re-weight.
    weights : mapping
        Either flat ``{id: weight}`` where each id is an indicator or a challenge, or nested
        ``{"indicators": {id: weight}, "challenges": {id: weight}}`` (both forms may mix).

    Returns
    -------
    Catalogue
        A new validated catalogue; the input is not modified.

    Raises
    ------
    UnknownIdError
        If an id is neither an indicator nor a challenge (also a ``KeyError``).
    InvalidInputError
        If a weight is not a number.
    pydantic.ValidationError
        If a weight is negative or a challenge is left without any positive indicator weight
        (a ``ValueError``).
    """
    indicator_ids = {i.id for i in catalogue.indicators}
    challenge_ids = set(catalogue.challenge_ids)
    flat: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in weights.items():
        if key in ("indicators", "challenges") and isinstance(value, Mapping):
            # Nested sections are strict: an indicator id under "challenges" is an error.
            valid = indicator_ids if key == "indicators" else challenge_ids
            unknown.extend(f"{key}.{name}" for name in value if name not in valid)
            flat.update(value)
        else:
            if key not in indicator_ids | challenge_ids:
                unknown.append(str(key))
            flat[key] = value
    if unknown:
        raise UnknownIdError(
            f"Pesos para ids desconocidos: {', '.join(sorted(unknown))}; indicadores válidos: "
            f"{', '.join(sorted(indicator_ids))}; desafíos válidos: "
            f"{', '.join(sorted(challenge_ids))}"
        )
    for key, value in flat.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(f"El peso de {key!r} debe ser un número, no {value!r}")
    data = catalogue.model_dump()
    for table in (*data["indicators"], *data["challenges"]):
        if table["id"] in flat:
            table["weight"] = float(flat[table["id"]])
    return Catalogue.model_validate(data)
