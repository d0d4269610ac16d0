"""The Mesa's portfolio against its gaps: synthetic communes with known flags, then real data."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis import load_catalogue
from analysis.decision.portfolio import review_portfolio
from domain import PROJECT_TYPOLOGIES


def _scores(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    """Long scores ``(cut, challenge, rank, tier)``; the score falls as the rank grows."""
    return pd.DataFrame(
        [
            {"cut": cut, "challenge": challenge, "score": 1.0 / rank, "rank": rank, "tier": tier}
            for cut, challenge, rank, tier in rows
        ]
    )


@pytest.fixture
def synthetic():
    communes = pd.DataFrame(
        {"cut": ["01001", "01002", "01003"], "name": ["Uno", "Dos", "Tres"], "region_code": "01"}
    )
    # 01001: high gap in agua (tier 1) and rural_urbano (tier 1), conectividad tier 3.
    # 01002: high gap only in conectividad. 01003: no high gap, worst relative rank in rural_urbano.
    ranks_and_tiers = {
        "01001": {"agua": (1, 1), "conectividad": (2, 3), "rural_urbano": (2, 1)},
        "01002": {"agua": (2, 3), "conectividad": (1, 1), "rural_urbano": (3, 5)},
        "01003": {"agua": (3, 5), "conectividad": (3, 5), "rural_urbano": (1, 2)},
    }
    composite = {"01001": (1, 1), "01002": (2, 2), "01003": (3, 5)}
    scores = _scores(
        [
            (cut, challenge, rank, tier)
            for cut, by_challenge in ranks_and_tiers.items()
            for challenge, (rank, tier) in {**by_challenge, "compuesto": composite[cut]}.items()
        ]
    )
    projects = pd.DataFrame(
        {
            "cut": ["01001", "01001", "01001", "01002"],
            "project_id": ["A", "B", "C", "D"],
            "name": ["Sede", "Plaza", "Posta", "Camino"],
            "typology": [
                "Equipamiento",
                "Espacios_Públicos",
                "Equipamiento",
                "Infraestructura_Vial",
            ],
            "stage": ["diseño", "diseño", "ejecución", None],
            "total_investment_clp": [100.0, math.nan, 50.0, 30.0],
            "private_contribution_clp": [10.0, 5.0, math.nan, math.nan],
        }
    )
    presence = pd.DataFrame(
        {"cut": ["01001", "01001"], "intervention": ["mesa_convergencia", "other"]}
    )
    return review_portfolio(communes, scores, projects, presence, load_catalogue())


def test_catalogue_typologies_are_the_schema_typologies() -> None:
    catalogue = load_catalogue()
    assert {t.id for t in catalogue.typologies} == set(PROJECT_TYPOLOGIES)
    mapping = {t.id: t.challenges for t in catalogue.typologies}
    assert mapping["Servicios_Básicos"] == ("agua", "conectividad")
    assert mapping["Infraestructura_Vial"] == ("conectividad",)
    assert mapping["Equipamiento"] == mapping["Espacios_Públicos"] == ("rural_urbano",)


def test_typology_pointing_to_unknown_challenge_is_refused() -> None:
    override = {"typologies": [{"id": "Equipamiento", "challenges": ["inexistente"]}]}
    with pytest.raises(ValueError, match="inexistente"):
        load_catalogue(override)


def test_high_gap_without_project_flags(synthetic) -> None:
    communes = synthetic.communes.set_index("cut")
    # 01001's rural_urbano is covered by Equipamiento/Espacios Públicos; agua is not.
    assert communes.loc["01001", "unaddressed_high_gaps"] == "Agua"
    assert bool(communes.loc["01001", "high_gap_without_project"])
    # 01002's only high gap (conectividad) has a road project aimed at it.
    assert not bool(communes.loc["01002", "high_gap_without_project"])
    # 01003 has no high gap at all, so nothing can be unaddressed.
    assert communes.loc["01003", "high_gap_challenges"] == ""
    assert not bool(communes.loc["01003", "high_gap_without_project"])
    gaps = synthetic.challenges.set_index(["cut", "challenge"])
    assert int(gaps.loc[("01001", "rural_urbano"), "projects_aimed"]) == 3
    assert gaps.loc[("01001", "rural_urbano"), "investment_aimed_clp"] == 150.0


def test_scope_without_projects_reports_zero_projects_and_flags_its_high_gaps() -> None:
    communes = pd.DataFrame({"cut": ["01001"], "name": ["Uno"], "region_code": "01"})
    scores = _scores([("01001", c, 1, 1) for c in (*load_catalogue().challenge_ids, "compuesto")])
    no_projects = pd.DataFrame(
        columns=[
            "cut",
            "project_id",
            "name",
            "typology",
            "stage",
            "total_investment_clp",
            "private_contribution_clp",
        ]
    )
    review = review_portfolio(
        communes,
        scores,
        no_projects,
        pd.DataFrame(columns=["cut", "intervention"]),
        load_catalogue(),
    )
    row = review.communes.iloc[0]
    assert int(row["projects_total"]) == 0 and int(row["projects_on_high_gap"]) == 0
    assert bool(row["high_gap_without_project"])
    assert review.investments.empty


def test_money_by_typology_and_stage(synthetic) -> None:
    rows = synthetic.investments.set_index(["cut", "typology", "stage"])
    design = rows.loc[("01001", "Equipamiento", "diseño")]
    assert int(design["projects"]) == 1 and design["total_investment_clp"] == 100.0
    public = rows.loc[("01001", "Espacios_Públicos", "diseño")]
    assert int(public["projects_without_amount"]) == 1
    assert math.isnan(public["total_investment_clp"])
    assert public["private_contribution_clp"] == 5.0
    assert ("01002", "Infraestructura_Vial", "sin etapa") in rows.index
    communes = synthetic.communes.set_index("cut")
    assert communes.loc["01001", "total_investment_clp"] == 150.0
    assert communes.loc["01001", "private_contribution_clp"] == 15.0
    assert int(communes.loc["01001", "projects_without_amount"]) == 1
    assert bool(communes.loc["01001", "mesa_convergencia"])
    assert math.isnan(communes.loc["01003", "total_investment_clp"])


def test_top_driver_and_suggested_typology(synthetic) -> None:
    communes = synthetic.communes.set_index("cut")
    # Equal relative ranks (1 of 3) in agua only for 01001: agua → Servicios básicos.
    assert communes.loc["01001", "top_driver"] == "agua"
    assert communes.loc["01001", "suggested_typology"] == "Servicios_Básicos"
    assert not bool(communes.loc["01001", "top_driver_addressed"])
    # Conectividad's main typology is Infraestructura vial, already in the portfolio.
    assert communes.loc["01002", "top_driver"] == "conectividad"
    assert communes.loc["01002", "suggested_typology"] == "Infraestructura_Vial"
    assert bool(communes.loc["01002", "top_driver_addressed"])
    assert communes.loc["01003", "top_driver"] == "rural_urbano"
    assert communes.loc["01003", "suggested_typology"] == "Equipamiento"
    assert not bool(communes.loc["01003", "top_driver_is_high_gap"])
    assert communes.loc["01001", "projects_on_high_gap_share"] == 1.0


def test_unknown_project_typology_is_named(synthetic) -> None:
    communes = pd.DataFrame({"cut": ["01001"], "name": ["Uno"], "region_code": "01"})
    projects = pd.DataFrame(
        {
            "cut": ["01001"], "project_id": ["X"], "name": ["?"], "typology": ["Deporte"],
            "stage": ["diseño"], "total_investment_clp": [1.0], "private_contribution_clp": [0.0],
        }
    )  # fmt: skip
    empty = pd.DataFrame({"cut": [], "intervention": []})
    with pytest.raises(ValueError, match="Deporte"):
        review_portfolio(communes, _scores([]), projects, empty, load_catalogue())


def test_printable_page_escapes_names_and_csv_is_excel_ready(synthetic) -> None:
    from geo_service.services.exports import portfolio_communes_csv, portfolio_page

    one = synthetic.commune("01001")
    hostile = PortfolioReviewWithName(one, "<script>alert(1)</script> & Cía")
    page = portfolio_page(hostile, "prueba", "2025.1")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Cía" in page
    assert "@media print" in page and 'lang="es"' in page
    assert "Brecha alta sin proyecto" in page  # agua is flagged for 01001
    text = portfolio_communes_csv(synthetic)
    assert text.startswith("\ufeffCUT;Comuna;")
    line = next(row for row in text.splitlines() if row.startswith("01001;"))
    assert ";150;15;" in line  # whole pesos with thousands points, no decimals
    assert "sin dato" in next(row for row in text.splitlines() if row.startswith("01003;"))


def PortfolioReviewWithName(review, name):  # noqa: N802 - reads like a constructor
    """The same review with another commune name."""
    from dataclasses import replace

    return replace(review, communes=review.communes.assign(name=name))


# ------------------------------------------------------------------------------ real data


@pytest.fixture(scope="module")
def national_review(national_postgis):
    from geo_service.services.portfolio import portfolio_review

    return portfolio_review(national_postgis, None)


@pytest.mark.postgis
@pytest.mark.realdata
def test_real_portfolio_accounts_for_every_project(national_review, national_postgis) -> None:
    review, source = national_review
    projects = national_postgis.read_table("project_sites")
    presence = national_postgis.read_table("huella_presence")
    assert len(review.communes) == len(national_postgis.read_table("communes", ["cut"]))
    assert int(review.communes["projects_total"].sum()) == len(projects)
    assert int(review.investments["projects"].sum()) == len(projects)
    mesas = set(presence.loc[presence["intervention"] == "mesa_convergencia", "cut"])
    assert set(review.communes.loc[review.communes["mesa_convergencia"], "cut"]) == mesas
    assert source


@pytest.mark.postgis
@pytest.mark.realdata
def test_real_flags_follow_the_gaps_and_the_typologies(national_review) -> None:
    review, _ = national_review
    catalogue = load_catalogue()
    gaps = review.challenges
    flagged = gaps[gaps["high_gap_without_project"]]
    assert (flagged["tier"] == 1).all() and (flagged["projects_aimed"] == 0).all()
    huella = review.communes[review.communes["huella_presence"]]
    assert len(huella) > 0
    for row in huella.itertuples():
        if row.top_driver is None:
            continue
        suggested = catalogue.typologies_for(row.top_driver)[0]
        assert row.suggested_typology == suggested.id
        own = gaps[gaps["cut"] == row.cut]
        assert bool(row.high_gap_without_project) == bool(own["high_gap_without_project"].any())


@pytest.mark.postgis
@pytest.mark.realdata
def test_portfolio_api_json_csv_and_page(national_postgis) -> None:
    from fastapi.testclient import TestClient

    from geo_service.app import create_app
    from geo_service.settings import Settings

    url = national_postgis.engine.url.render_as_string(hide_password=False)
    projects = national_postgis.read_table("project_sites")
    cut = str(projects["cut"].value_counts().index[0])
    with TestClient(create_app(Settings(database_url=url))) as client:
        body = client.get("/portafolio", params={"region": cut[:2]}).json()
        assert {row["cut"][:2] for row in body["communes"]} == {cut[:2]}
        one = client.get(f"/portafolio/{cut}").json()
        assert len(one["projects"]) == int((projects["cut"] == cut).sum())
        assert {row["challenge"] for row in one["challenges"]} == set(
            load_catalogue().challenge_ids
        )
        page = client.get(f"/portafolio/{cut}.html")
        assert page.status_code == 200 and one["commune"]["name"] in page.text
        csv = client.get(f"/portafolio/{cut}.csv")
        assert csv.content.startswith("\ufeff".encode()) and b";" in csv.content
        assert client.get("/portafolio.csv", params={"region": cut[:2]}).status_code == 200
        assert client.get("/portafolio/99999").status_code == 404
        assert client.get("/portafolio", params={"region": "99"}).status_code == 422
