"""The plain-Spanish breakdown of communes' scores (wording in :mod:`analysis.wording`).

:func:`explain_commune` writes one commune; :func:`explain_communes` writes every commune of a
run in one pass (for storing with the run). Both split the result's tables by commune once into
:class:`_Lookups` and write from those small pieces, so the wording exists in one place only and
no commune pays for masks over the national tables.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from analysis.formatting import (
    format_interval,
    format_number,
    format_rank,
    format_share,
    format_value,
    join_spanish,
    rank_of,
)
from analysis.wording import method_summary
from domain.errors import UnknownIdError

if TYPE_CHECKING:
    from analysis.challenges import Indicator
    from analysis.result import ScoringResult

#: One table row as a plain mapping (see :func:`_rows`).
Row = Mapping[str, Any]


def explain_commune(result: ScoringResult, cut: str) -> str:
    """Multi-line plain-Spanish breakdown of one commune's scores.

    Parameters
    ----------
    result : ScoringResult
        Output of :func:`analysis.scoring.score_communes`.
    cut : str
        Commune code; an unpadded code such as ``4303`` is accepted.

    Returns
    -------
    str
        Every score with rank, interval, tier and coverage; every indicator with raw value and
        unit, normalised value, weights and contribution; missing indicators listed by name;
        spatial cluster, proposed group and Huella Local portfolio.

    Raises
    ------
    UnknownIdError
        If the commune is not in the scope of the result (also a ``KeyError``).

    See Also
    --------
    explain_communes : The same text for many communes at once, much faster per commune.
    """
    code = _code(cut)
    lookups = _Lookups.build(result, [code])
    if code not in lookups.scores:
        raise _unknown_commune(result, cut)
    return lookups.explain(code)


def explain_communes(result: ScoringResult, cuts: Iterable[str] | None = None) -> dict[str, str]:
    """Plain-Spanish breakdowns of many communes, each identical to :func:`explain_commune`.

    The result's tables are split by commune once and the figures every commune shares
    (indicator support, regional totals, source notes, group members) are computed once, so
    the whole country costs a fraction of one :func:`explain_commune` call per commune.

    Parameters
    ----------
    result : ScoringResult
        Output of :func:`analysis.scoring.score_communes`.
    cuts : iterable of str, optional
        Commune codes (unpadded codes such as ``4303`` accepted; a single string is one code).
        Default: every commune of ``result.scores``.

    Returns
    -------
    dict of str to str
        Five-digit commune code to its text, in the order of ``cuts`` (duplicates once) or,
        by default, in the order of ``result.scores``.

    Raises
    ------
    UnknownIdError
        If a requested commune is not in the scope of the result (nothing is written then;
        also a ``KeyError``).
    """
    if cuts is None:
        lookups = _Lookups.build(result, None)
        codes = list(lookups.scores)
    else:
        # Keep the code as given for the error message, like explain_commune.
        requested = {_code(cut): cut for cut in ([cuts] if isinstance(cuts, str) else cuts)}
        present = set(result.scores["cut"])
        for code, cut in requested.items():
            if code not in present:
                raise _unknown_commune(result, cut)
        codes = list(requested)
        lookups = _Lookups.build(result, codes)
    return {code: lookups.explain(code) for code in codes}


def _code(cut: object) -> str:
    return str(cut).strip().zfill(5)


def _unknown_commune(result: ScoringResult, cut: object) -> UnknownIdError:
    return UnknownIdError(
        f"La comuna {cut!r} no está en el resultado (ámbito: {result.scope_label}, "
        f"{result.communes_in_scope} comunas)"
    )


def _text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "sin dato"
    return str(value)


def _number(value: object) -> float:
    """Return a cell as float, ``NaN`` for anything missing or not numeric."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number


def _rows(frame: pd.DataFrame) -> list[Row]:
    """The rows of ``frame`` as dicts, built column by column.

    Several times faster than ``DataFrame.to_dict("records")``, and cells keep the values a row
    ``Series`` holds (``pd.NA`` for a missing ``Int64``), so the text is the same.
    """
    columns = [str(column) for column in frame.columns]
    values = zip(*(frame[column].tolist() for column in frame.columns), strict=True)
    return [dict(zip(columns, row, strict=True)) for row in values]


def _first_by(frame: pd.DataFrame, *keys: str) -> dict[Any, Row]:
    """First row of ``frame`` per key (one column) or key tuple, like ``frame[mask].iloc[0]``."""
    rows: dict[Any, Row] = {}
    for row in _rows(frame):
        key = row[keys[0]] if len(keys) == 1 else tuple(row[k] for k in keys)
        rows.setdefault(key, row)
    return rows


@dataclass(frozen=True)
class _Lookups:
    """A result's tables split by commune, and the figures shared by all communes.

    Built once for the communes to explain (:meth:`build`); :meth:`explain` then writes one
    commune from dictionary look-ups only. Rows are plain mappings: cheaper to read than
    ``Series`` and formatted the same.
    """

    result: ScoringResult
    #: Paragraph of the run's parameters, the same for every commune.
    method: str
    #: cut -> score id -> first score row.
    scores: dict[str, dict[str, Row]]
    #: cut -> indicators row (identity, context and raw values).
    indicators: dict[str, Row]
    #: (cut, score id) -> contribution rows, in table order.
    contributions: dict[tuple[str, str], list[Row]]
    #: (cut, challenge id) -> sum of the composite's contributions from that challenge.
    composite_parts: dict[tuple[str, str], float]
    #: (cut, score id) -> first Local Moran row.
    clusters: dict[tuple[str, str], Row]
    #: (score id, cut) -> proposed group id (first one listed).
    group_of: dict[tuple[str, str], Any]
    #: group id -> (cut, name) of every row of that group.
    group_members: dict[Any, list[tuple[str, str]]]
    #: cut -> portfolio row.
    portfolio: dict[str, Row]
    #: score id -> source notes.
    notes: dict[str, list[str]]
    #: indicator column -> communes of the scope with a value.
    support: dict[str, int]
    #: (score id, region code) -> communes of that region with a score.
    region_totals: dict[tuple[str, str], int]
    #: indicator id -> catalogue indicator.
    catalogue_indicators: dict[str, Indicator]

    @classmethod
    def build(cls, result: ScoringResult, codes: Iterable[str] | None) -> _Lookups:
        """Split the tables for the communes ``codes`` (five-digit; None for all).

        Per-commune tables are restricted to ``codes`` before splitting, so one commune costs
        one mask per table; scope-wide figures (support, regional totals, group members,
        notes) always come from the whole tables.
        """
        if codes is None:

            def own(frame: pd.DataFrame) -> pd.DataFrame:
                return frame

        else:
            wanted = set(codes)

            def own(frame: pd.DataFrame) -> pd.DataFrame:
                return frame[frame["cut"].isin(wanted)]

        scores: dict[str, dict[str, Row]] = {}
        for (code, score_id), row in _first_by(own(result.scores), "cut", "challenge").items():
            scores.setdefault(code, {})[score_id] = row
        contributions_frame = own(result.contributions)
        contributions: dict[tuple[str, str], list[Row]] = {}
        for row in _rows(contributions_frame):
            contributions.setdefault((row["cut"], row["challenge"]), []).append(row)
        # One groupby for every commune: the same pandas sum (min_count=1) as one commune's.
        composite = contributions_frame[
            contributions_frame["challenge"] == result.catalogue.composite_id
        ]
        sums = composite.groupby(["cut", "indicator_challenge"], sort=False)["contribution"]
        composite_parts = cast("dict[tuple[str, str], float]", sums.sum(min_count=1).to_dict())
        group_of: dict[tuple[str, str], Any] = {}
        group_members: dict[Any, list[tuple[str, str]]] = {}
        for row in _rows(result.groups):
            group_of.setdefault((row["challenge"], row["cut"]), row["group_id"])
            group_members.setdefault(row["group_id"], []).append((row["cut"], str(row["name"])))
        notes: dict[str, list[str]] = {}
        for row in _rows(result.notes):
            notes.setdefault(row["challenge"], []).append(row["note"])
        # Scored communes per (score, region) over the whole scope, in one pass.
        region_totals: Counter[tuple[str, str]] = Counter()
        everyone = result.scores
        for score_id, region, scored in zip(
            everyone["challenge"].tolist(),
            everyone["region_code"].tolist(),
            everyone["score"].notna().tolist(),
            strict=True,
        ):
            if scored and region == region:  # a missing region matches no commune
                region_totals[(score_id, region)] += 1
        return cls(
            result=result,
            method=method_summary(
                result.parameters,
                result.scope_label,
                result.communes_in_scope,
                result.catalogue.version,
            ),
            scores=scores,
            indicators=_first_by(own(result.indicators), "cut"),
            contributions=contributions,
            composite_parts=composite_parts,
            clusters=_first_by(own(result.clusters), "cut", "challenge"),
            group_of=group_of,
            group_members=group_members,
            portfolio=_first_by(own(result.portfolio), "cut"),
            notes=notes,
            support={str(k): int(v) for k, v in result.indicators.count().items()},
            region_totals=region_totals,
            catalogue_indicators={i.id: i for i in result.catalogue.indicators},
        )

    def explain(self, code: str) -> str:
        """Write the breakdown of commune ``code`` (five digits, present in the lookups)."""
        result = self.result
        catalogue = result.catalogue
        indicators = self.indicators[code]
        scores = self.scores[code]
        lines = [
            f"{indicators['name']} ({code}) · región {indicators['region_code']} "
            f"{indicators['region_name']} · clasificación ODEPA: "
            f"{_text(indicators.get('odepa_classification'))}",
            self.method,
        ]
        if result.parameters.aggregation == "geometric":
            lines.append(
                "Con media geométrica los aportes son la descomposición aritmética (peso × valor "
                "normalizado) y no suman exactamente el puntaje."
            )
        for score_id in catalogue.score_ids:
            lines.append("")
            lines.append(catalogue.label_of(score_id))
            lines.extend(self._score_lines(scores[score_id]))
            lines.extend(f"  Nota de fuente: {note}" for note in self.notes.get(score_id, ()))
            if score_id == catalogue.composite_id:
                lines.extend(self._composite_lines(code))
            else:
                lines.extend(self._indicator_lines(self.contributions.get((code, score_id), [])))
            lines.extend(self._spatial_lines(score_id, code))
        lines.append("")
        lines.extend(self._context_lines(code, indicators))
        return "\n".join(lines)

    def _score_lines(self, row: Row) -> list[str]:
        result = self.result
        params = result.parameters
        available = int(row["indicators_available"])
        total = int(row["indicators_total"])
        coverage = (
            f"Cobertura: cubre el {format_share(_number(row['coverage']))} del peso de los "
            f"indicadores que entran en el ámbito ({available} de {total} con dato)."
        )
        if math.isnan(_number(row["score"])):
            return [f"  {row['explanation']}", f"  {coverage}"]
        ranked = result.ranked_count(str(row["challenge"]))
        lines = [
            f"  Puntaje {format_number(_number(row['score']), 3)} · lugar "
            f"{format_rank(_number(row['rank']))} de {ranked} · tramo {int(row['tier'])} de "
            f"{params.tier_count} ({row['tier_label']})",
        ]
        if params.draws:
            lines.append(
                f"  Intervalo de lugar 5–95 % de las simulaciones: "
                f"{format_interval(_number(row['rank_p05']), _number(row['rank_p95']))} "
                f"(mediana {format_rank(_number(row['median_rank']))}; lugar puntual "
                f"{format_rank(_number(row['rank']))}); en el tramo superior en el "
                f"{format_share(_number(row['top_tier_share']))} de las simulaciones."
            )
            if params.region is None:
                region_total = int(
                    self.region_totals.get((row["challenge"], row["region_code"]), 0)
                )
                lines.append(
                    f"  En su región: lugar {rank_of(_number(row['rank_region']), region_total)}, "
                    "intervalo 5–95 % "
                    + format_interval(
                        _number(row["rank_p05_region"]), _number(row["rank_p95_region"])
                    )
                    + ", en el tramo superior regional en el "
                    + f"{format_share(_number(row['top_tier_share_region']))} de las simulaciones."
                )
        lines.append(f"  {coverage}")
        lines.append(f"  {row['explanation']}")
        return lines

    def _indicator_lines(self, own: list[Row]) -> list[str]:
        lines = ["  Indicadores (valor → normalizado × peso efectivo = aporte; peso del catálogo):"]
        missing: list[str] = []
        unused: list[str] = []
        for item in own:
            indicator = self._indicator(str(item["indicator"]))
            raw = _number(item["raw_value"])
            if math.isnan(raw):
                missing.append(indicator.label)
                continue
            value = format_value(raw, indicator.unit)
            normalised = _number(item["normalised"])
            if math.isnan(normalised):
                communes = self.support.get(indicator.column, 0)
                unused.append(
                    f"{indicator.label} ({value}; dato en sólo {communes} comunas del ámbito)"
                )
                continue
            effective = _number(item["effective_weight"])
            if math.isnan(effective):
                lines.append(f"    - {indicator.label}: {value} → {format_number(normalised, 3)}")
                continue
            lines.append(
                f"    - {indicator.label}: {value} → {format_number(normalised, 3)} × "
                f"{format_number(effective, 3)} = "
                f"{format_number(_number(item['contribution']), 3)} "
                f"(peso {format_number(_number(item['weight']), 2)})"
            )
        lines.append(f"  Sin dato: {'; '.join(missing) if missing else 'ninguno'}.")
        if unused:
            lines.append(
                "  No usados en este ámbito (muy pocas comunas con dato para normalizar): "
                f"{'; '.join(unused)}."
            )
        return lines

    def _indicator(self, indicator_id: str) -> Indicator:
        found = self.catalogue_indicators.get(indicator_id)
        # An id outside the catalogue raises the catalogue's own KeyError.
        return found if found is not None else self.result.catalogue.indicator(indicator_id)

    def _composite_lines(self, code: str) -> list[str]:
        catalogue = self.result.catalogue
        parts = []
        for challenge_id in catalogue.challenge_ids:
            amount = _number(self.composite_parts.get((code, challenge_id), math.nan))
            parts.append(f"{catalogue.label_of(challenge_id)} {format_number(amount, 3)}")
        return [f"  Aportes por desafío: {'; '.join(parts)}."]

    def _spatial_lines(self, score_id: str, code: str) -> list[str]:
        lines: list[str] = []
        cluster = self.clusters.get((code, score_id))
        if cluster is not None:
            p_value = _number(cluster["p_value"])
            detail = "" if math.isnan(p_value) else f" (p = {format_number(p_value, 3)})"
            lines.append(f"  Conglomerado espacial (Moran local): {cluster['quadrant']}{detail}.")
        if (score_id, code) in self.group_of:
            group_id = self.group_of[(score_id, code)]
            partners = join_spanish(
                sorted(name for cut, name in self.group_members[group_id] if cut != code)
            )
            lines.append(f"  Grupo intercomunal propuesto {group_id}, con {partners}.")
        return lines

    def _context_lines(self, code: str, indicators: Row) -> list[str]:
        poverty_year = _number(indicators["poverty_year"])
        year = "" if math.isnan(poverty_year) else f" {int(poverty_year)}"
        fallback = bool(indicators["rural_sample_fallback"])
        income = format_value(
            _number(indicators.get("ingreso_municipal_per_capita_clp")), "CLP/hab"
        )
        lines = [
            "Contexto",
            f"  Población {int(_number(indicators['population_year']))}: "
            f"{format_number(_number(indicators['population_total']), 0)} habitantes, "
            f"{format_number(_number(indicators['population_rural']), 0)} rurales.",
            f"  Pobreza multidimensional{year}: "
            f"{format_value(_number(indicators['pobreza_multidimensional_pct']), '%')} "
            f"(intervalo de confianza "
            f"{format_value(_number(indicators['pobreza_ic_inferior_pct']), '%')} – "
            f"{format_value(_number(indicators['pobreza_ic_superior_pct']), '%')}).",
            f"  Pobreza por ingresos{year}: "
            f"{format_value(_number(indicators.get('pobreza_ingresos_pct')), '%')} (intervalo de "
            "confianza "
            f"{format_value(_number(indicators.get('pobreza_ingresos_ic_inferior_pct')), '%')} – "
            f"{format_value(_number(indicators.get('pobreza_ingresos_ic_superior_pct')), '%')}).",
            "  Ingreso municipal total por habitante (contexto; incluye el Fondo Común Municipal): "
            f"{income}.",
            f"  Territorio rural muestreado: "
            f"{format_number(_number(indicators['rural_area_km2']), 1)} km², "
            f"{int(_number(indicators['rural_sample_points']))} puntos"
            + (" (sin territorio rural: se muestreó toda la comuna)." if fallback else "."),
        ]
        portfolio = self.portfolio[code]
        presence = (
            f"presente ({portfolio['huella_interventions']})"
            if bool(portfolio["huella_presence"])
            else "sin presencia"
        )
        investment = format_value(_number(portfolio["total_investment_clp"]), "CLP")
        lines.append(
            f"  Huella Local: {presence}; proyectos: {int(portfolio['projects_total'])}; "
            f"inversión conocida: {investment}."
        )
        if bool(portfolio["high_gap_without_intervention"]):
            lines.append("  Comuna de alta brecha (compuesto) sin intervención de Huella Local.")
        return lines
