"""One view, one answer: the tier, place, interval and top-tier share a commune shows in a view.

A *view* is (scope, challenge, weights, run). The map's table, panel, tooltip and legend, the
priority CSV, the PNG, the commune profile and the API all write a commune's answer for a view
from :func:`view_answer`, so no surface can pair a regional tier with a national share, or a
regional place with the "Lugar nacional" column.

Score rows come as the API writes them (``rank``, ``tier``, ``rank_p05``..., and the
``*_region`` columns of the same run). Two cases are told apart:

* a **regional view of a national run** compares the region's communes on their national
  scores: the regional place, tier, interval and top-tier share are the ``*_region`` columns,
  and the national place stays valid;
* scores **computed within the region** (``/gaps`` with a region) are re-scaled in the region
  (normalised among its communes only): their place is regional, they have no national place,
  and the answer says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from analysis.formatting import format_interval, format_share, rank_of
from analysis.wording import NO_DATA_TIER
from domain.labels import MISSING, NO_RANK

#: A commune in tier 1 in fewer than this share of the simulations, or outside it but in tier 1
#: in more than ``1 - UNSTABLE_SHARE`` of them, has an uncertain ("incierto") priority.
UNSTABLE_SHARE: Final = 0.8
#: Certainty words of the priority table.
FIRM: Final = "firme"
UNCERTAIN: Final = "incierto"
NO_SIMULATIONS: Final = "sin simulaciones"
#: What a tied place adds to its label.
TIE: Final = "empate"
#: Why a view computed within a region has no national place.
NO_NATIONAL_PLACE: Final = (
    "sin lugar nacional: en esta vista los puntajes se calculan sólo entre las comunas de la región"
)
#: What a view re-scaled within its region says.
RESCALED_NOTE: Final = (
    "Puntajes re-escalados dentro de la región (normalizados entre sus comunas): comparables "
    "entre ellas, no con los puntajes nacionales"
)

#: Keys of a place count: (challenge, region or "" for the nation, place).
PlaceKey = tuple[str, str, int]


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def is_unstable(tier: Any, top_tier_share: Any) -> bool:
    """Whether a commune's membership of the top tier is uncertain across the simulations."""
    tier_value, share = _number(tier), _number(top_tier_share)
    if tier_value is None or share is None:
        return False
    if int(tier_value) == 1:
        return share < UNSTABLE_SHARE
    # Written this way, 1 - 0.8 does not become 0.19999….
    return 1 - share < UNSTABLE_SHARE


def place_counts(rows: list[dict[str, Any]], *, regional: bool) -> dict[PlaceKey, int]:
    """How many communes share each place: ``(challenge, region or "", place) → count``.

    ``regional`` counts the ``rank_region`` places per region, otherwise ``rank`` nationally
    (or in whatever scope the rows were ranked).
    """
    counts: dict[PlaceKey, int] = {}
    for row in rows:
        place = _number(row.get("rank_region" if regional else "rank"))
        if place is None:
            continue
        key = (str(row["challenge"]), str(row.get("region_code") or "") if regional else "",
               int(place))  # fmt: skip
        counts[key] = counts.get(key, 0) + 1
    return counts


def view_answer(
    row: Mapping[str, Any],
    *,
    region: str | None,
    within_region: bool,
    ties: Mapping[PlaceKey, int],
) -> dict[str, Any]:
    """The answer of one commune in one view, the same on every surface.

    Parameters
    ----------
    row
        A score row as the API writes it.
    region
        The view's region, or None for the national view.
    within_region
        Whether the scores were computed within ``region`` only (re-scaled there).
    ties
        :func:`place_counts` of every row of the view's scope (regional counts for a regional
        view of a national run, scope counts otherwise).

    Returns
    -------
    dict
        ``scope`` ("nacional" / "regional"), ``place``, ``total``, ``tie``, ``place_label``
        ("3 de 15", "1 de 345 (empate)"), ``tier``, ``tier_label``, ``interval_low``,
        ``interval_high``, ``interval_label``, ``top_tier_share``, ``top_tier_label``,
        ``certainty`` ("firme" / "incierto" / None) and ``certainty_label``,
        ``national_place_label`` (a place or why there is none), ``coverage_label`` ("cubre
        60 % del peso": the share of the weight of the indicators entering the scope),
        ``rescaled`` and ``note``.
    """
    regional_columns = region is not None and not within_region
    suffix = "_region" if regional_columns else ""
    place = _number(row.get(f"rank{suffix}"))
    total = row.get("region_total") if region is not None else row.get("national_total")
    tier = _number(row.get(f"tier{suffix}"))
    label = row.get(f"tier_label{suffix}") if tier is not None else None
    low = _number(row.get(f"rank_p05{suffix}"))
    high = _number(row.get(f"rank_p95{suffix}"))
    share = _number(row.get(f"top_tier_share{suffix}"))
    tie_key = (str(row.get("challenge")), str(region or "") if regional_columns else "",
               int(place) if place is not None else -1)  # fmt: skip
    tie = place is not None and ties.get(tie_key, 1) > 1
    place_label = rank_of(place, int(total)) if place is not None and total else NO_RANK
    if tie:
        place_label = f"{place_label} ({TIE})"
    if tier is None:
        certainty, certainty_label = None, MISSING
    elif share is None:
        certainty, certainty_label = None, NO_SIMULATIONS
    else:
        certainty = UNCERTAIN if is_unstable(tier, share) else FIRM
        certainty_label = certainty
    national_place_label = _national_place(row, within_region)
    return {
        "scope": "regional" if region is not None else "nacional",
        "place": None if place is None else int(place),
        "total": None if total is None else int(total),
        "tie": tie,
        "place_label": place_label,
        "tier": None if tier is None else int(tier),
        # No tier is missing data, never a low priority.
        "tier_label": label or NO_DATA_TIER,
        "interval_low": low,
        "interval_high": high,
        "interval_label": format_interval(low, high),
        "top_tier_share": share,
        "top_tier_label": format_share(share),
        "certainty": certainty,
        "certainty_label": certainty_label,
        "national_place_label": national_place_label,
        "coverage_label": f"cubre {format_share(_number(row.get('coverage')))} del peso",
        "rescaled": within_region and region is not None,
        "note": RESCALED_NOTE if within_region and region is not None else None,
    }


def _national_place(row: Mapping[str, Any], within_region: bool) -> str:
    """The national place of a row, or why the view has none."""
    if within_region:
        return NO_NATIONAL_PLACE
    place = _number(row.get("rank"))
    total = row.get("national_total")
    if place is None or not total:
        return NO_RANK
    return rank_of(place, int(total))


def with_view(
    rows: list[dict[str, Any]],
    *,
    region: str | None,
    within_region: bool,
    scope_rows: list[dict[str, Any]] | None = None,
    ties: Mapping[PlaceKey, int] | None = None,
) -> list[dict[str, Any]]:
    """``rows`` with their :func:`view_answer` under ``"view"`` (rows changed in place).

    Ties are counted among ``scope_rows`` (all rows of the view's scope; ``rows`` when
    omitted) unless ``ties`` is given.
    """
    regional_columns = region is not None and not within_region
    counts = ties if ties is not None else place_counts(
        scope_rows if scope_rows is not None else rows, regional=regional_columns
    )  # fmt: skip
    for row in rows:
        row["view"] = view_answer(row, region=region, within_region=within_region, ties=counts)
    return rows
