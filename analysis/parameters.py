"""Parameters of one scoring run (validated, frozen, stored as JSON with the run)."""

from __future__ import annotations

import math
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from analysis.aggregation import Aggregation, TierMethod
from analysis.model import GeometricScale
from analysis.normalisation import Normalization, OutlierTreatment
from analysis.uncertainty import UncertaintySettings


class ScoringParameters(BaseModel):
    """Parameters of one scoring run; ``model_dump()`` gives the JSON stored with the run.

    Attributes
    ----------
    region : str or None
        Two-digit region code to compare communes within one region; ``None`` is national.
    challenge_weights : dict
        Challenge id -> weight in the composite, overriding the catalogue.
    indicator_weights : dict
        Indicator id -> weight inside its challenge, overriding the catalogue.
    normalization : {"minmax", "zscore", "rank", "target"}
        Normalisation of the point estimate.
    aggregation : {"arithmetic", "geometric"}
        Aggregation of the point estimate.
    geometric_scale : {"rescaled", "offset"}
        Scale of the geometric mean: ``rescaled`` (default) rescales every normalised
        indicator to [1, 100] first, as COINr does; ``offset`` is the former
        ``exp(sum w ln(v + 0.01)) - 0.01`` on [0, 1] (z-scores then only arithmetic).
    outlier_treatment : {"log_winsorize", "winsorize", "log", "none"}
        ``log`` applies ``log(1 + x)`` to indicators marked skewed; ``winsorize`` clips every
        indicator to its ``winsor_quantile`` and ``1 - winsor_quantile`` quantiles.
    winsor_quantile : float
        Tail share clipped by winsorisation.
    min_coverage : float
        Minimum share of a challenge's weight with data for the score to be computed.
    min_indicator_communes : int
        An indicator with data for fewer communes of the scope than this (or than all of
        them, in a smaller scope) is not used: a relative normalisation over two or three
        communes means nothing. Its raw values stay in the tables.
    tier_count : int
        Number of priority tiers.
    tier_method : {"quantiles", "natural_breaks"}
        Tier classification (mapclassify Quantiles or FisherJenks).
    draws : int
        Monte Carlo draws; 0 skips the uncertainty analysis.
    weight_spread : float
        Weights are drawn uniformly within ``±weight_spread`` of their default (relative);
        0.25 as in the JRC/COINr audits (the former default was 0.5).
    vary_methods : bool
        Whether the draws also vary normalisation and aggregation.
    drawn_normalizations : tuple of str
        Normalisations the draws choose among (JRC: min-max, z-score, rank).
    drawn_aggregations : tuple of str
        Aggregations the draws choose among.
    vary_winsorization : bool
        Whether the draws switch winsorisation on and off.
    sample_estimates : bool
        Whether the draws sample each published estimate within its confidence interval.
    seed : int
        Seed of every random generator of the run.
    moran_permutations : int
        Permutations of the Local Moran's I pseudo p-values.
    moran_significance : float
        Pseudo p-value threshold of a reported cluster.
    priority_tiers : int
        Tiers considered priority (for groups and uncovered high gaps).
    max_group_size : int
        Target largest size of a proposed intercommunal group.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str | None = Field(default=None, pattern=r"^\d{2}$")
    challenge_weights: dict[str, float] = Field(default_factory=dict)
    indicator_weights: dict[str, float] = Field(default_factory=dict)
    normalization: Normalization = "minmax"
    aggregation: Aggregation = "arithmetic"
    geometric_scale: GeometricScale = "rescaled"
    outlier_treatment: OutlierTreatment = "log_winsorize"
    winsor_quantile: float = Field(default=0.025, ge=0.0, lt=0.5)
    min_coverage: float = Field(default=0.5, gt=0.0, le=1.0)
    min_indicator_communes: int = Field(default=5, ge=1)
    tier_count: int = Field(default=5, ge=2, le=10)
    tier_method: TierMethod = "quantiles"
    draws: int = Field(default=1000, ge=0, le=100_000)
    weight_spread: float = Field(default=0.25, ge=0.0, lt=1.0)
    vary_methods: bool = True
    drawn_normalizations: tuple[Normalization, ...] = ("minmax", "zscore", "rank")
    drawn_aggregations: tuple[Aggregation, ...] = ("arithmetic", "geometric")
    vary_winsorization: bool = True
    sample_estimates: bool = True
    seed: int = Field(default=2025, ge=0, lt=2**63)
    moran_permutations: int = Field(default=999, ge=99, le=99_999)
    moran_significance: float = Field(default=0.05, gt=0.0, lt=1.0)
    priority_tiers: int = Field(default=1, ge=1)
    max_group_size: int = Field(default=8, ge=2)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if (
            self.normalization == "zscore"
            and self.aggregation == "geometric"
            and self.geometric_scale == "offset"
        ):
            raise ValueError(
                "La media geométrica con desplazamiento necesita valores no negativos: use "
                "zscore sólo con agregación aritmética o geometric_scale='rescaled'"
            )
        if self.priority_tiers > self.tier_count:
            raise ValueError("priority_tiers no puede superar tier_count")
        if not self.drawn_normalizations or not self.drawn_aggregations:
            raise ValueError("Las simulaciones necesitan al menos una normalización y agregación")
        for name, weights in (
            ("challenge_weights", self.challenge_weights),
            ("indicator_weights", self.indicator_weights),
        ):
            for key, value in weights.items():
                if not math.isfinite(value) or value < 0:
                    raise ValueError(f"{name}[{key!r}] debe ser un número finito no negativo")
        return self

    @classmethod
    def legacy_uncertainty(cls, **changes: object) -> ScoringParameters:
        """Parameters reproducing the former Monte Carlo.

        Weights ±50 %, geometric mean with the 0.01 offset, four normalisations, no
        winsorisation switch and no sampling of published estimates.
        """
        defaults: dict[str, object] = {
            "weight_spread": 0.5,
            "geometric_scale": "offset",
            "drawn_normalizations": ("minmax", "rank", "target", "zscore"),
            "vary_winsorization": False,
            "sample_estimates": False,
        }
        return cls.model_validate({**defaults, **changes})

    def uncertainty_settings(self) -> UncertaintySettings:
        """What the Monte Carlo varies under these parameters."""
        if not self.vary_methods:
            return UncertaintySettings(
                weight_spread=self.weight_spread,
                normalisations=(self.normalization,),
                aggregations=(self.aggregation,),
                vary_winsorisation=self.vary_winsorization,
                sample_estimates=self.sample_estimates,
            )
        return UncertaintySettings(
            weight_spread=self.weight_spread,
            normalisations=self.drawn_normalizations,
            aggregations=self.drawn_aggregations,
            vary_winsorisation=self.vary_winsorization,
            sample_estimates=self.sample_estimates,
        )
