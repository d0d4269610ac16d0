"""The coherence audit: hand-computed statistics and flags on a catalogue built to fail."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import ScoringParameters, compute_indicators, load_catalogue
from analysis.audit import audit_index, cronbach_alpha, first_component_share
from analysis.scoring import scored_model
from tests.analysis_fixtures import build_synthetic_inputs


def test_cronbach_alpha_and_first_component_by_hand() -> None:
    items = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0], [4.0, 4.0]])
    # Item variances 5/3 each; totals 2, 5, 5, 8 have variance 6: alpha = 2 (1 - (10/3) / 6).
    assert cronbach_alpha(items) == pytest.approx(2 * (1 - (10 / 3) / 6))
    # Covariance 4/3 over variances 5/3: r = 0.8, eigenvalues 1.8 and 0.2 of the correlations.
    assert first_component_share(items) == pytest.approx(0.9)
    same = np.column_stack([np.arange(5.0), np.arange(5.0)])
    assert cronbach_alpha(same) == pytest.approx(1.0)
    assert math.isnan(cronbach_alpha(items[:, :1]))


@pytest.fixture(scope="module")
def raw():
    return compute_indicators(build_synthetic_inputs())


def test_a_challenge_added_by_override_is_audited_and_its_flags_named(raw) -> None:
    override = {
        "challenges": [{"id": "prueba", "label": "Prueba", "weight": 0.0}],
        "indicators": [
            {
                "id": "pobreza_directa",
                "challenge": "prueba",
                "label": "Pobreza directa",
                "unit": "%",
                "source": "sintético",
                "dataset": "sintético",
                "direction": "higher_is_worse",
                "weight": 0.9,
                "variable": "pobreza_multidimensional_pct",
            },
            {
                "id": "pobreza_invertida",
                "challenge": "prueba",
                "label": "Pobreza invertida",
                "unit": "%",
                "source": "sintético",
                "dataset": "sintético",
                "direction": "lower_is_worse",
                "weight": 0.1,
                "variable": "pobreza_multidimensional_pct",
            },
        ],
    }
    catalogue = load_catalogue(override)
    params = ScoringParameters(draws=0, outlier_treatment="none")
    audit = audit_index(scored_model(raw, params, catalogue), "sintético")

    indicators = audit.indicators.set_index("indicator")
    # Score = 0.9 p + 0.1 (1 - p): the inverted copy correlates -1 with its own challenge.
    assert indicators.loc["pobreza_invertida", "r_with_challenge"] == pytest.approx(-1.0)
    assert bool(indicators.loc["pobreza_invertida", "against_direction"])
    assert not bool(indicators.loc["pobreza_directa", "against_direction"])
    flags = audit.flags
    assert set(flags["kind"]) == {"dirección", "|r| > 0,9"}
    assert "pobreza_directa ~ pobreza_invertida" in set(flags["subject"])
    # The exact copy of multidimensional poverty in another challenge is double counting too.
    assert "pobreza_multidimensional_pct ~ pobreza_directa" in set(flags["subject"])
    assert not audit.passed
    challenge = audit.challenges.set_index("challenge").loc["prueba"]
    assert challenge["indicators"] == 2 and challenge["undocumented"] >= 2

    documented = load_catalogue(
        {
            **override,
            "indicators": [
                {**override["indicators"][0], "notes": "Copia de pobreza_multidimensional_pct."},
                {
                    **override["indicators"][1],
                    "notes": "Auditoría: espejo de pobreza_directa y pobreza_multidimensional_pct.",
                },
            ],
        }
    )
    flags = audit_index(scored_model(raw, params, documented)).flags
    ours = flags[flags["subject"].str.contains("pobreza_directa|pobreza_invertida")]
    assert len(ours) >= 3 and ours["documented"].all()


def test_shipped_catalogue_passes_on_the_synthetic_territory_or_names_why(raw) -> None:
    audit = audit_index(scored_model(raw, ScoringParameters(draws=0), load_catalogue()))
    assert set(audit.challenges["challenge"]) == set(load_catalogue().challenge_ids)
    assert audit.pairs["r"].abs().max() <= 1.0 + 1e-12
    alphas = audit.challenges["cronbach_alpha"].dropna()
    assert (alphas <= 1.0 + 1e-12).all()
    assert audit.challenges["pc1_share"].between(0, 1).all()
