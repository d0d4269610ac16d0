"""Sobol' sensitivity: a synthetic model with known indices, then the index itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import ScoringParameters, compute_indicators, load_catalogue
from analysis.scoring import scored_model
from analysis.sensitivity import SENSITIVITY_COLUMNS, Factor, rank_sensitivity, sobol_table
from tests.analysis_fixtures import build_synthetic_inputs


def test_additive_model_gives_the_known_variance_shares() -> None:
    # Y = a X1 + b X2 with X uniform on [0, 1]: Var(a X1) = a^2 / 12, so S1 = ST = a^2/(a^2+b^2);
    # X3 does not enter Y and gets 0.
    a, b = 2.0, 1.0
    factors = [Factor(f"x{i}", f"x{i}", 0.0, 1.0) for i in (1, 2, 3)]
    table = sobol_table(
        factors, lambda x: (a * x[:, 0] + b * x[:, 1])[:, None], ["y"], 1024, seed=11
    ).set_index("input")
    expected = {"x1": a**2 / (a**2 + b**2), "x2": b**2 / (a**2 + b**2), "x3": 0.0}
    for name, share in expected.items():
        assert table.loc[name, "S1"] == pytest.approx(share, abs=0.05), name
        assert table.loc[name, "ST"] == pytest.approx(share, abs=0.05), name
    assert table["ST"]["x3"] < 0.01


def test_interaction_shows_in_total_but_not_first_order() -> None:
    # Y = (X1 - 0.5)(X2 - 0.5): no first-order effect at all, everything is interaction.
    factors = [Factor("x1", "x1", 0.0, 1.0), Factor("x2", "x2", 0.0, 1.0)]
    table = sobol_table(
        factors, lambda x: ((x[:, 0] - 0.5) * (x[:, 1] - 0.5))[:, None], ["y"], 1024, seed=5
    ).set_index("input")
    assert (table["S1"].abs() < 0.05).all()
    assert (table["ST"] > 0.9).all()


@pytest.fixture(scope="module")
def scored():
    inputs = build_synthetic_inputs()
    params = ScoringParameters(draws=0)
    return scored_model(compute_indicators(inputs), params, load_catalogue()), params


def test_rank_sensitivity_of_the_composite_and_of_one_challenge(scored) -> None:
    model, params = scored
    composite = rank_sensitivity(model, params, "compuesto", base_samples=64, top_n=5)
    table = composite.table
    assert list(table.columns) == list(SENSITIVITY_COLUMNS)
    inputs = list(dict.fromkeys(table["input"]))
    catalogue = model.catalogue
    assert inputs[: len(catalogue.challenges)] == [f"peso_{c}" for c in catalogue.challenge_ids]
    assert {"normalizacion", "agregacion", "winsorizacion"} <= set(inputs)
    assert {"estimacion_pobreza_ingresos_pct", "estimacion_pobreza_multidimensional_pct"} <= set(
        inputs
    )
    assert set(table["output"]) == {"ámbito", "primeras 5"}
    assert composite.evaluations == 64 * (len(inputs) + 2)
    assert np.isfinite(table[["S1", "ST", "S1_conf", "ST_conf"]].to_numpy()).all()
    # The choice between arithmetic and geometric means moves ranks: not a null factor.
    assert table.set_index(["input", "output"])["ST"][("agregacion", "ámbito")] > 0.05

    water = rank_sensitivity(model, params, "agua", base_samples=64).table
    water_inputs = set(water["input"])
    # One challenge's ranks depend on its own indicator weights, never on the poverty estimates.
    assert "peso_agua_sin_red_publica" in water_inputs
    assert not any(name.startswith("estimacion_") for name in water_inputs)
    assert not any(name == "peso_agua" for name in water_inputs)

    again = rank_sensitivity(model, params, "compuesto", base_samples=64, top_n=5)
    pd.testing.assert_frame_equal(again.table, table)
    with pytest.raises(ValueError, match="Desafío desconocido"):
        rank_sensitivity(model, params, "vivienda", base_samples=16)
