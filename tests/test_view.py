"""analysis.view: one commune's answer in a view, from the score rows the API writes."""

from __future__ import annotations

from typing import Any

from analysis.view import NO_NATIONAL_PLACE, place_counts, view_answer, with_view


def _row(cut: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "cut": cut,
        "challenge": "agua",
        "region_code": cut[:2],
        "national_total": 345,
        "region_total": 15,
        "coverage": 0.6,
    }
    row.update(values)
    return row


def test_a_regional_view_of_the_national_run_is_regional_on_every_field():
    row = _row(
        "04302",
        rank=40, tier=2, tier_label="Prioridad alta", rank_p05=30, rank_p95=60,
        top_tier_share=0.0, rank_region=1, tier_region=1, tier_label_region="Prioridad muy alta",
        rank_p05_region=1, rank_p95_region=3, top_tier_share_region=0.9,
    )  # fmt: skip
    regional = view_answer(row, region="04", within_region=False, ties={})
    assert regional["tier_label"] == "Prioridad muy alta" and regional["place_label"] == "1 de 15"
    assert regional["interval_label"] == "1–3" and regional["top_tier_share"] == 0.9
    assert regional["certainty"] == "firme" and regional["national_place_label"] == "40 de 345"
    assert regional["coverage_label"] == "cubre 60 % del peso" and not regional["rescaled"]
    national = view_answer(row, region=None, within_region=False, ties={})
    assert national["tier_label"] == "Prioridad alta" and national["place_label"] == "40 de 345"
    assert national["top_tier_share"] == 0.0 and national["certainty"] == "firme"


def test_ties_share_the_place_and_say_empate():
    rows = [_row(cut, rank=1, tier=1, tier_label="Prioridad muy alta") for cut in ("01", "02")]
    rows.append(_row("03", rank=3, tier=1, tier_label="Prioridad muy alta"))
    with_view(rows, region=None, within_region=False)
    assert [row["view"]["tie"] for row in rows] == [True, True, False]
    assert rows[0]["view"]["place_label"] == "1 de 345 (empate)"
    assert place_counts(rows, regional=False) == {("agua", "", 1): 2, ("agua", "", 3): 1}


def test_a_view_rescaled_in_its_region_has_no_national_place_and_says_so():
    row = _row("04202", rank=1, tier=1, tier_label="Prioridad muy alta")
    answer = view_answer(row, region="04", within_region=True, ties={})
    assert answer["place_label"] == "1 de 15" and answer["rescaled"]
    assert answer["national_place_label"] == NO_NATIONAL_PLACE and "re-escalados" in answer["note"]
    assert answer["certainty"] is None and answer["certainty_label"] == "sin simulaciones"


def test_uncertain_priority_and_missing_score():
    shaky = view_answer(
        _row("01", rank=5, tier=1, tier_label="x", top_tier_share=0.55),
        region=None, within_region=False, ties={},
    )  # fmt: skip
    assert shaky["certainty"] == "incierto"
    missing = view_answer(
        _row("02", rank=None, tier=None, score=None, top_tier_share=float("nan")),
        region=None, within_region=False, ties={},
    )  # fmt: skip
    assert missing["place"] is None and missing["tier"] is None
    assert (
        missing["tier_label"] == "Sin datos suficientes" and missing["place_label"] == "sin lugar"
    )
