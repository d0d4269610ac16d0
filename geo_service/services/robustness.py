"""Sensitivity analysis and coherence audit of the index on the data of a store.

Shared by ``geogaps sensitivity`` / ``geogaps audit`` and the ``/sensitivity`` and ``/audit``
routes: read the inputs, compute the indicators, build the scored index (pure stages of
:mod:`analysis.scoring`), then run :mod:`analysis.sensitivity` or :mod:`analysis.audit`.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from analysis import ScoringParameters, compute_indicators, load_catalogue
from analysis.audit import AuditResult, audit_index
from analysis.challenges import Catalogue
from analysis.formatting import format_number
from analysis.scoring import ScoredModel, scored_model, with_parameter_weights
from analysis.sensitivity import SensitivityResult, rank_sensitivity
from geo_service.services.cache import Caches
from geo_service.services.inputs import read_analysis_inputs
from layers.stores import Store


def _raw_indicators(store: Store, catalogue: Catalogue, caches: Caches | None) -> pd.DataFrame:
    """National raw indicators of the store's data, computed once per set of inputs."""

    def compute() -> pd.DataFrame:
        return compute_indicators(read_analysis_inputs(store), catalogue)

    if caches is None:
        return compute()
    raw: pd.DataFrame = caches.get_or_make(
        "indicators",
        catalogue.settings.model_dump_json(),
        compute,
        state=caches.data_state(store),
    )
    return raw


def scored_index(
    store: Store,
    parameters: ScoringParameters,
    override: dict[str, Any] | None = None,
    caches: Caches | None = None,
) -> ScoredModel:
    """Stages 1-4 of the scoring pipeline on the store's data."""
    catalogue = with_parameter_weights(load_catalogue(override), parameters)
    return scored_model(_raw_indicators(store, catalogue, caches), parameters, catalogue)


def scope_label(parameters: ScoringParameters) -> str:
    """``nacional`` or ``región XX``."""
    return "nacional" if parameters.region is None else f"región {parameters.region}"


def sensitivity_for(
    store: Store,
    parameters: ScoringParameters,
    challenge: str,
    *,
    base_samples: int = 512,
    top_n: int = 10,
    override: dict[str, Any] | None = None,
    caches: Caches | None = None,
) -> SensitivityResult:
    """Sobol' indices of one score's ranks on the store's data."""
    return rank_sensitivity(
        scored_index(store, parameters, override, caches),
        parameters,
        challenge,
        base_samples=base_samples,
        top_n=top_n,
    )


def audit_for(
    store: Store,
    parameters: ScoringParameters,
    override: dict[str, Any] | None = None,
    caches: Caches | None = None,
) -> AuditResult:
    """Coherence audit on the store's data."""
    return audit_index(scored_index(store, parameters, override, caches), scope_label(parameters))


def sensitivity_chart_png(result: SensitivityResult, title: str) -> bytes:
    """A horizontal bar chart of S1 and ST (with their confidence half-widths) as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = result.table
    outputs = list(dict.fromkeys(table["output"]))
    figure, axes = plt.subplots(
        1,
        len(outputs),
        figsize=(6.5 * len(outputs), 0.45 * table["input"].nunique() + 1.8),
        sharey=True,
        squeeze=False,
    )
    for axis, output in zip(axes[0], outputs, strict=True):
        part = table[table["output"] == output].iloc[::-1]
        positions = range(len(part))
        axis.barh(
            [p + 0.2 for p in positions],
            part["ST"].clip(lower=0),
            height=0.4,
            xerr=part["ST_conf"],
            label="ST (total)",
            color="#c0392b",
        )
        axis.barh(
            [p - 0.2 for p in positions],
            part["S1"].clip(lower=0),
            height=0.4,
            xerr=part["S1_conf"],
            label="S1 (primer orden)",
            color="#2980b9",
        )
        axis.set_yticks(list(positions), part["label"].tolist(), fontsize=8)
        axis.set_xlim(0, 1.05)
        axis.set_title(f"Desplazamiento medio de lugares: {output}", fontsize=9)
        axis.set_xlabel("Índice de Sobol'")
        axis.legend(fontsize=8, loc="lower right")
    figure.suptitle(
        f"{title} · N = {result.base_samples}, {format_number(result.evaluations, 0)} evaluaciones",
        fontsize=10,
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()
