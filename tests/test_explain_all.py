"""``explain_communes``: every commune's breakdown at once, identical to ``explain_commune``.

The texts are stored with a run, so the batch version must write byte for byte what the
one-commune version writes: on the synthetic territory (national, regional and geometric
without simulations, which take other branches of the wording) and on the real national and
Coquimbo results (``national_inputs`` from tests/conftest.py, few draws to stay fast).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from analysis import (
    ScoringParameters,
    compute_indicators,
    explain_commune,
    explain_communes,
    score_communes,
)
from analysis.inputs import AnalysisInputs
from analysis.result import ScoringResult
from tests.analysis_fixtures import (  # noqa: F401 - fixtures
    NO_POLYGON_CUT,
    indicators_fixture,
    inputs_fixture,
)

FAST: dict[str, Any] = {"draws": 40, "moran_permutations": 99}
REAL_DRAWS = 30


def assert_same_as_one_by_one(result: ScoringResult) -> None:
    texts = explain_communes(result)
    cuts = list(result.scores["cut"].drop_duplicates())
    assert list(texts) == cuts
    for cut in cuts:
        assert texts[cut] == explain_commune(result, cut), cut


# ------------------------------------------------------------------------- synthetic


@pytest.fixture(scope="module")
def result(inputs: AnalysisInputs, indicators: pd.DataFrame) -> ScoringResult:
    return score_communes(inputs, ScoringParameters(**FAST), raw_indicators=indicators)


def test_synthetic_national_texts_equal_explain_commune(result: ScoringResult) -> None:
    assert result.communes_in_scope == len(explain_communes(result))
    assert_same_as_one_by_one(result)
    # The commune without polygon (unscored challenges) is written too.
    assert "Sin puntaje" in explain_communes(result)[NO_POLYGON_CUT]


@pytest.mark.parametrize(
    "params",
    [
        ScoringParameters(region="05", **FAST),
        ScoringParameters(draws=0, aggregation="geometric", moran_permutations=99),
    ],
    ids=["region", "geometric-no-draws"],
)
def test_synthetic_other_scopes_and_methods_equal_explain_commune(
    inputs: AnalysisInputs, indicators: pd.DataFrame, params: ScoringParameters
) -> None:
    assert_same_as_one_by_one(score_communes(inputs, params, raw_indicators=indicators))


def test_cuts_subset_accepts_unpadded_codes_in_the_given_order(result: ScoringResult) -> None:
    texts = explain_communes(result, ["13104", "5107", "05107"])
    assert list(texts) == ["13104", "05107"]  # padded, duplicates once
    assert texts["05107"] == explain_commune(result, "5107")
    assert texts["13104"] == explain_commune(result, "13104")
    assert explain_communes(result, "5107") == {"05107": texts["05107"]}  # one code as a str
    assert explain_communes(result, []) == {}


def test_unknown_cut_raises_the_same_key_error_as_explain_commune(result: ScoringResult) -> None:
    with pytest.raises(KeyError) as single:
        explain_commune(result, "99999")
    with pytest.raises(KeyError) as batch:
        explain_communes(result, ["05107", "99999"])
    assert str(batch.value) == str(single.value)
    assert "no está en el resultado" in str(batch.value)


# ------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_indicators(national_inputs) -> pd.DataFrame:
    return compute_indicators(national_inputs)


@pytest.fixture(scope="module")
def national_result(national_inputs, real_indicators: pd.DataFrame) -> ScoringResult:
    return score_communes(
        national_inputs, ScoringParameters(draws=REAL_DRAWS), raw_indicators=real_indicators
    )


@pytest.mark.realdata
def test_every_national_commune_equals_explain_commune(national_result: ScoringResult) -> None:
    texts = explain_communes(national_result)
    assert len(texts) == 345
    assert_same_as_one_by_one(national_result)
    petorca = texts["05404"]  # APR data it has but the national scope cannot use
    assert petorca.startswith("Petorca (05404)") and "No usados en este ámbito" in petorca


@pytest.mark.realdata
def test_coquimbo_communes_equal_explain_commune(
    national_inputs, real_indicators: pd.DataFrame
) -> None:
    result = score_communes(
        national_inputs,
        ScoringParameters(region="04", draws=REAL_DRAWS),
        raw_indicators=real_indicators,
    )
    assert len(explain_communes(result)) == 15
    assert_same_as_one_by_one(result)
    with pytest.raises(KeyError, match="no está en el resultado"):
        explain_communes(result, ["5404"])  # Petorca is outside región 04
