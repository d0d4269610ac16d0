"""A Mesa de Convergencia's workspace through the API, on both stores.

Two Mesas, members of every role, the whole authorization matrix, the history (every write
exactly once, refused writes never), stale and concurrent changes of a commitment.
"""

from __future__ import annotations

import io
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import openpyxl
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import SecretStr
from typer.testing import CliRunner

from analysis import ScoringParameters
from analysis.formatting import format_integer, format_share
from geo_service import cli
from geo_service.app import create_app
from geo_service.services.runs import run_scoring
from geo_service.settings import Settings
from layers.stores import EmbeddedStore, Store
from tests.cli_runner import run_geogaps

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

API_KEY = "clave-mesas"
#: Coquimbo communes of the Huella Local (Monte Patria, Canela, Combarbalá).
MONTE_PATRIA, CANELA, COMBARBALA = "04303", "04202", "04302"


@dataclass
class Workspace:
    """A served store with a stored run of the Coquimbo region."""

    client: TestClient
    store: Store
    run_id: str

    def create(self, **body: Any) -> dict[str, Any]:
        body = {"nombre": "Mesa de prueba", "comunas": [MONTE_PATRIA], **body}
        response = self.client.post("/mesas", json=body, headers={"X-API-Key": API_KEY})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@pytest.fixture(scope="module", params=["postgis", "embedded"])
def workspace(request: pytest.FixtureRequest) -> Iterator[Workspace]:
    store = request.getfixturevalue(f"national_{request.param}")
    run = run_scoring(store, ScoringParameters(region="04", draws=10, seed=19)).run
    if request.param == "postgis":
        url = store.engine.url.render_as_string(hide_password=False)
        settings = Settings(database_url=url, api_key=SecretStr(API_KEY), warm_caches=False)
    else:
        settings = Settings(
            database_url=None,
            store_dir=store.root,
            api_key=SecretStr(API_KEY),
            warm_caches=False,
        )
    with TestClient(create_app(settings)) as client:
        yield Workspace(client, store, run.run_id)


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def add_member(ws: Workspace, mesa: dict[str, Any], rol: str, nombre: str) -> dict[str, Any]:
    response = ws.client.post(
        f"/mesas/{mesa['id']}/miembros",
        json={"nombre": nombre, "tipo_actor": "comunidad", "organizacion": "Junta", "rol": rol},
        headers=bearer(mesa["token"]),
    )
    assert response.status_code == 201, response.text
    member: dict[str, Any] = response.json()
    return member


def history(ws: Workspace, mesa: dict[str, Any]) -> list[dict[str, Any]]:
    response = ws.client.get(f"/mesas/{mesa['id']}/historial", headers=bearer(mesa["token"]))
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["historial"]
    return entries


def commitment(ws: Workspace, mesa: dict[str, Any], responsable: int, **body: Any) -> int:
    body = {
        "responsable": responsable,
        "descripcion": "Gestionar el perfil del proyecto de agua",
        "vence": (date.today() + timedelta(days=30)).isoformat(),
        **body,
    }
    path = f"/mesas/{mesa['id']}/compromisos"
    response = ws.client.post(path, json=body, headers=bearer(mesa["token"]))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def patch_fresh(ws: Workspace, token: str, path: str, body: dict[str, Any]) -> Response:
    """PATCH ``path`` with the ETag of a read just before (a change based on the newest)."""
    headers = bearer(token)
    tag = ws.client.get(path, headers=headers).headers["ETag"]
    return ws.client.patch(path, json=body, headers={**headers, "If-Match": tag})


def member_commitment(ws: Workspace) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A new Mesa, a member, and the path of a commitment of that member."""
    mesa = ws.create()
    member = add_member(ws, mesa, "miembro", "Ana")
    cid = commitment(ws, mesa, member["id"])
    return mesa, member, f"/mesas/{mesa['id']}/compromisos/{cid}"


def test_only_the_api_key_creates_mesas(workspace: Workspace) -> None:
    body = {"nombre": "Mesa", "comunas": [CANELA]}
    assert workspace.client.post("/mesas", json=body).status_code == 401
    wrong = workspace.client.post("/mesas", json=body, headers={"X-API-Key": "otra"})
    assert wrong.status_code == 401
    created = workspace.create(comunas=[CANELA, COMBARBALA])
    assert (
        set(created) == {"id", "token", "miembro"} and created["miembro"]["rol"] == "coordinacion"
    )
    mesa = workspace.client.get(f"/mesas/{created['id']}", headers=bearer(created["token"]))
    assert mesa.status_code == 200
    assert mesa.json()["comunas"] == sorted([CANELA, COMBARBALA])
    assert "token_hash" not in mesa.json()["miembros"][0]
    # A Mesa of a commune that does not exist is refused, naming it.
    refused = workspace.client.post(
        "/mesas", json={"nombre": "Mesa", "comunas": ["99999"]}, headers={"X-API-Key": API_KEY}
    )
    assert refused.status_code == 422 and "99999" in refused.text


def test_authorization_matrix(workspace: Workspace) -> None:
    ws = workspace
    mesa = ws.create()
    other = ws.create(nombre="Otra mesa", comunas=[CANELA])
    member = add_member(ws, mesa, "miembro", "Ana")
    colleague = add_member(ws, mesa, "miembro", "Berta")
    reader = add_member(ws, mesa, "lectura", "Carla")
    own = commitment(ws, mesa, member["id"])
    entry = ws.client.post(
        f"/mesas/{mesa['id']}/seguimiento",
        json={"avance": "Visita a terreno"},
        headers=bearer(member["token"]),
    ).json()["id"]
    row = ws.client.post(
        f"/mesas/{mesa['id']}/matriz", json={"necesidad": "Sede"}, headers=bearer(mesa["token"])
    ).json()["id"]
    tokens = {
        "coordinacion": mesa["token"],
        "miembro": member["token"],
        "otro_miembro": colleague["token"],
        "lectura": reader["token"],
        "otra_mesa": other["token"],
        "sin_token": None,
        "token_falso": "no-es-un-token",
    }
    base = f"/mesas/{mesa['id']}"
    everyone = {"coordinacion", "miembro", "otro_miembro", "lectura"}
    matrix_row = {"necesidad": "Agua potable en sectores rurales", "desafio": "agua"}
    initiative = {"nombre": "Estanque", "tipologia": "Servicios Básicos"}
    follow_up = {"avance": "Reunión con la DOH"}
    milestone = {"fecha": "2023-05-04", "tipo": "acuerdo firmado", "titulo": "Firma"}
    # (method, path, body, roles allowed); the member's own commitment is theirs to change.
    cases: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
        ("GET", base, None, everyone),
        ("GET", f"{base}/matriz", None, everyone),
        ("GET", f"{base}/iniciativas", None, everyone),
        ("GET", f"{base}/compromisos", None, everyone),
        ("GET", f"{base}/compromisos/{own}", None, everyone),
        ("GET", f"{base}/seguimiento", None, everyone),
        ("GET", f"{base}/hitos", None, everyone),
        ("GET", f"{base}/historial", None, everyone),
        (
            "POST",
            f"{base}/miembros",
            {"nombre": "Dina", "tipo_actor": "empresa", "organizacion": "Minera"},
            {"coordinacion"},
        ),
        ("POST", f"{base}/matriz", matrix_row, {"coordinacion"}),
        ("POST", f"{base}/iniciativas", initiative, {"coordinacion"}),
        ("POST", f"{base}/hitos", milestone, {"coordinacion"}),
        ("POST", f"{base}/seguimiento", follow_up, {"coordinacion", "miembro", "otro_miembro"}),
        (
            "POST",
            f"{base}/compromisos",
            {"responsable": member["id"], "descripcion": "Convocar", "vence": "2030-01-01"},
            {"coordinacion", "miembro"},
        ),
        ("PATCH", f"{base}/compromisos/{own}", {"estado": "en curso"}, {"coordinacion", "miembro"}),
        ("PATCH", f"{base}/seguimiento/{entry}", {"avance": "Hecho"}, {"coordinacion", "miembro"}),
        ("PATCH", f"{base}/matriz/{row}", {"puntajes": {"magnitud": 3}}, {"coordinacion"}),
        ("PATCH", base, {"nombre": "Mesa renombrada"}, {"coordinacion"}),
        ("GET", f"{base}/miembros/{member['id']}", None, everyone),
    ]
    wrong: list[str] = []
    for method, path, body, allowed in cases:
        for who, token in tokens.items():
            headers = bearer(token)
            if method == "PATCH":
                read = ws.client.get(path, headers=bearer(mesa["token"]))
                headers["If-Match"] = read.headers["ETag"]
            response = ws.client.request(method, path, json=body, headers=headers)
            if who in ("sin_token", "token_falso"):
                expected = 401
            elif who not in allowed:
                expected = 403
            else:
                expected = 201 if method == "POST" else 200
            if response.status_code != expected:
                wrong.append(f"{who} {method} {path}: {response.status_code} ≠ {expected}")
    assert not wrong, "\n".join(wrong)
    # The other Mesa's coordinator saw nothing of this one, and this one nothing of the other.
    assert len(history(ws, other)) == 2  # its creation and its first member
    foreign = ws.client.get(f"/mesas/{other['id']}", headers=bearer(mesa["token"]))
    assert foreign.status_code == 403
    assert ws.client.get(base, headers=bearer(None)).headers["WWW-Authenticate"] == "Bearer"


def test_every_write_lands_once_in_the_history(workspace: Workspace) -> None:
    ws = workspace
    mesa = ws.create()
    headers = bearer(mesa["token"])
    base = f"/mesas/{mesa['id']}"
    member = add_member(ws, mesa, "miembro", "Ana")
    row = ws.client.post(f"{base}/matriz", json={"necesidad": "Caminos"}, headers=headers).json()
    ws.client.post(
        f"{base}/iniciativas",
        json={
            "nombre": "Mejoramiento de camino",
            "tipologia": "Infraestructura_Vial",
            "filas_matriz": [row["id"]],
        },
        headers=headers,
    )
    cid = commitment(ws, mesa, member["id"], iniciativa_id=1)
    changed = patch_fresh(ws, mesa["token"], f"{base}/compromisos/{cid}", {"estado": "cumplido"})
    assert changed.status_code == 200
    etag = f'"compromiso-{cid}-v1"'  # the version the change was based on, now stale
    ws.client.post(f"{base}/seguimiento", json={"avance": "Ok"}, headers=bearer(member["token"]))
    # Refused writes: none may reach the history.
    refused = [
        ws.client.post(f"{base}/matriz", json={"necesidad": "x"}, headers=bearer(member["token"])),
        ws.client.post(
            f"{base}/iniciativas", json={"nombre": "x", "tipologia": "Otra"}, headers=headers
        ),
        ws.client.patch(
            f"{base}/compromisos/{cid}",
            json={"estado": "pendiente"},
            headers={**headers, "If-Match": etag},
        ),
        ws.client.patch(f"{base}/compromisos/{cid}", json={"estado": "pendiente"}, headers=headers),
    ]
    assert [r.status_code for r in refused] == [403, 422, 412, 428]
    entries = history(ws, mesa)
    written = Counter((e["entidad"], e["accion"]) for e in entries)
    assert written == {
        ("mesa", "crear"): 1,
        ("miembro", "crear"): 2,
        ("fila_matriz", "crear"): 1,
        ("iniciativa", "crear"): 1,
        ("compromiso", "crear"): 1,
        ("compromiso", "modificar"): 1,
        ("seguimiento", "crear"): 1,
    }
    assert [e["id"] for e in entries] == list(range(1, len(entries) + 1))
    change = next(e for e in entries if e["accion"] == "modificar")
    assert change["antes"]["estado"] == "pendiente" and change["despues"]["estado"] == "cumplido"
    assert change["miembro_id"] == mesa["miembro"]["id"]
    assert all("token_hash" not in (e["despues"] or {}) for e in entries)
    # Each entity's last "después" is what is stored now.
    final = ws.client.get(f"{base}/compromisos/{cid}", headers=headers).json()
    assert {k: final[k] for k in change["despues"] if k != "mesa_id"} == {
        k: v for k, v in change["despues"].items() if k != "mesa_id"
    }


def test_a_stale_change_is_refused(workspace: Workspace) -> None:
    ws = workspace
    mesa, member, path = member_commitment(ws)
    headers = bearer(mesa["token"])
    first = ws.client.get(path, headers=headers)
    stale_tag = first.headers["ETag"]
    updated = ws.client.patch(
        path,
        json={"estado": "en curso"},
        headers={**bearer(member["token"]), "If-Match": stale_tag},
    )
    assert updated.status_code == 200 and updated.headers["ETag"] != stale_tag
    stale = ws.client.patch(
        path, json={"descripcion": "Otra cosa"}, headers={**headers, "If-Match": stale_tag}
    )
    assert stale.status_code == 412 and "cambió" in stale.json()["detail"]
    missing = ws.client.patch(path, json={"descripcion": "Otra cosa"}, headers=headers)
    assert missing.status_code == 428
    now = ws.client.get(path, headers=headers)
    assert now.json()["descripcion"] == first.json()["descripcion"]
    assert now.json()["estado"] == "en curso" and now.headers["ETag"] == updated.headers["ETag"]


def test_two_concurrent_writers_one_wins(workspace: Workspace) -> None:
    ws = workspace
    mesa, member, path = member_commitment(ws)
    headers = bearer(mesa["token"])
    tag = ws.client.get(path, headers=headers).headers["ETag"]
    barrier = threading.Barrier(2)
    answers: dict[str, Response] = {}

    def write(who: str, token: str, state: str) -> None:
        barrier.wait()
        answers[who] = ws.client.patch(
            path, json={"estado": state}, headers={**bearer(token), "If-Match": tag}
        )

    writers = [
        threading.Thread(target=write, args=("coordinacion", mesa["token"], "cancelado")),
        threading.Thread(target=write, args=("miembro", member["token"], "cumplido")),
    ]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    statuses = sorted(r.status_code for r in answers.values())
    assert statuses == [200, 412]
    winner = next(r for r in answers.values() if r.status_code == 200).json()
    assert ws.client.get(path, headers=headers).json()["estado"] == winner["estado"]
    changes = [e for e in history(ws, mesa) if e["accion"] == "modificar"]
    assert len(changes) == 1 and changes[0]["despues"]["estado"] == winner["estado"]


def test_matrix_prefills_the_gap_and_combines_the_priority(workspace: Workspace) -> None:
    ws = workspace
    criteria: list[dict[str, Any]] = [
        {"id": "magnitud", "peso": 2},
        {"id": "urgencia", "peso": 1},
        {"id": "factibilidad", "peso": 1},
    ]
    mesa = ws.create(corrida=ws.run_id, criterios=criteria)
    headers = bearer(mesa["token"])
    path = f"/mesas/{mesa['id']}/matriz"
    scores = {"magnitud": 5, "urgencia": 3, "factibilidad": 2}
    body = {"necesidad": "Agua", "desafio": "agua", "puntajes": scores, "recursos": "APR"}
    row = ws.client.post(path, json=body, headers=headers)
    assert row.status_code == 201, row.text
    stored = ws.store.read(
        "score_results",
        cuts=[MONTE_PATRIA],
        equals={"run_id": ws.run_id, "challenge": "agua"},
        columns=["score", "rank", "tier"],
    ).iloc[0]
    gap = row.json()["brecha"]
    assert gap["corrida"] == ws.run_id and gap["puntaje"] == pytest.approx(stored["score"])
    assert gap["lugar"] == stored["rank"] and gap["nivel"] == stored["tier"]
    weights = {c["id"]: c["peso"] for c in criteria}
    expected = sum(weights[k] * v for k, v in scores.items()) / sum(weights.values())
    assert row.json()["prioridad"]["valor"] == pytest.approx(expected, abs=0.005)
    partial = ws.client.post(
        path, json={"necesidad": "Sede social", "puntajes": {"magnitud": 4}}, headers=headers
    ).json()
    assert partial["prioridad"]["valor"] is None
    assert "urgencia" in partial["prioridad"]["motivo"] and partial["brecha"] is None
    bad = ws.client.post(
        path, json={"necesidad": "x", "puntajes": {"magnitud": 7}}, headers=headers
    )
    assert bad.status_code == 422 and "1 a 5" in bad.text
    hidden = ws.client.post(path, json={"necesidad": "Agua\x0bpotable"}, headers=headers)
    assert hidden.status_code == 422 and "caracteres de control" in hidden.text
    listed = ws.client.get(path, headers=headers).json()
    assert [r["id"] for r in listed["filas"]] == [1, 2] and listed["regla"]


def test_overdue_is_derived_from_the_date(workspace: Workspace) -> None:
    ws = workspace
    mesa = ws.create()
    me = mesa["miembro"]["id"]
    past = (date.today() - timedelta(days=3)).isoformat()
    late = commitment(ws, mesa, me, vence=past)
    done = commitment(ws, mesa, me, vence=past, estado="cumplido")
    listed = ws.client.get(f"/mesas/{mesa['id']}/compromisos", headers=bearer(mesa["token"]))
    flags = {c["id"]: c["atrasado"] for c in listed.json()["compromisos"]}
    assert flags == {late: True, done: False}


def test_every_route_is_documented(workspace: Workspace) -> None:
    paths = workspace.client.get("/openapi.json").json()["paths"]
    expected = {
        "/mesas": {"post"},
        "/mesas/{mesa_id}": {"get", "patch"},
        "/mesas/{mesa_id}/historial": {"get"},
    }
    for collection, item in [
        ("miembros", "mid"),
        ("matriz", "fid"),
        ("iniciativas", "iid"),
        ("compromisos", "cid"),
        ("seguimiento", "sid"),
        ("hitos", "hid"),
    ]:
        expected[f"/mesas/{{mesa_id}}/{collection}"] = {"get", "post"}
        expected[f"/mesas/{{mesa_id}}/{collection}/{{{item}}}"] = {"get", "patch"}
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
        for method in methods:
            assert {"401", "403"} <= set(paths[path][method]["responses"]), (path, method)
    patch = paths["/mesas/{mesa_id}/compromisos/{cid}"]["patch"]["responses"]
    assert {"412", "428"} <= set(patch)


def test_retired_members_lose_their_token(workspace: Workspace) -> None:
    ws = workspace
    mesa = ws.create()
    headers = bearer(mesa["token"])
    member = add_member(ws, mesa, "miembro", "Ana")
    path = f"/mesas/{mesa['id']}/miembros/{member['id']}"
    retired = patch_fresh(ws, mesa["token"], path, {"retirado": True})
    assert retired.status_code == 200 and retired.json()["retirado"] is not None
    assert ws.client.get(f"/mesas/{mesa['id']}", headers=bearer(member["token"])).status_code == 401
    # Still listed with its history: nothing is deleted.
    listed = ws.client.get(
        f"/mesas/{mesa['id']}/miembros", params={"incluir_retirados": True}, headers=headers
    )
    assert member["id"] in [m["id"] for m in listed.json()["miembros"]]
    current = ws.client.get(f"/mesas/{mesa['id']}/miembros", headers=headers).json()["miembros"]
    assert [m["id"] for m in current] == [mesa["miembro"]["id"]]
    # The last coordinator cannot step down.
    me = f"/mesas/{mesa['id']}/miembros/{mesa['miembro']['id']}"
    alone = patch_fresh(ws, mesa["token"], me, {"rol": "lectura"})
    assert alone.status_code == 409 and "coordinación" in alone.json()["detail"]


def test_weights_set_by_the_mesa_change_the_priority(workspace: Workspace) -> None:
    ws = workspace
    mesa = ws.create()
    headers = bearer(mesa["token"])
    base = f"/mesas/{mesa['id']}"
    scores = {"magnitud": 5, "urgencia": 1, "factibilidad": 1, "prioridad_comunitaria": 1}
    row = ws.client.post(
        f"{base}/matriz", json={"necesidad": "Luminarias", "puntajes": scores}, headers=headers
    ).json()
    assert row["prioridad"]["valor"] == pytest.approx(sum(scores.values()) / 4, abs=0.005)
    criteria = [{"id": k, "peso": 3 if k == "magnitud" else 1} for k in scores]
    changed = patch_fresh(ws, mesa["token"], base, {"criterios": criteria})
    assert changed.status_code == 200, changed.text
    weighted = (3 * 5 + 1 + 1 + 1) / 6
    matrix = ws.client.get(f"{base}/matriz", headers=headers).json()
    assert matrix["filas"][0]["prioridad"]["valor"] == pytest.approx(weighted, abs=0.005)
    # Editing a score is a versioned change too.
    path = f"{base}/matriz/{row['id']}"
    edited = patch_fresh(ws, mesa["token"], path, {"puntajes": {"urgencia": 5}})
    assert edited.status_code == 200
    assert edited.json()["puntajes"] == {**scores, "urgencia": 5}  # the others are kept


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _mesa_with_matrix(ws: Workspace) -> tuple[dict[str, Any], str]:
    """A Mesa with two matrix rows and one commitment; its base path."""
    mesa = ws.create()
    headers = bearer(mesa["token"])
    base = f"/mesas/{mesa['id']}"
    for body in (
        {"necesidad": "Agua potable", "desafio": "agua", "puntajes": {"magnitud": 5}},
        {"necesidad": "Sede social", "recursos": "Terreno municipal"},
    ):
        assert ws.client.post(f"{base}/matriz", json=body, headers=headers).status_code == 201
    commitment(ws, mesa, mesa["miembro"]["id"])
    return mesa, base


def _workbook(ws: Workspace, mesa: dict[str, Any], base: str) -> Any:
    response = ws.client.get(f"{base}/matriz.xlsx", headers=bearer(mesa["token"]))
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    return openpyxl.load_workbook(io.BytesIO(response.content))


def _column(sheet: Any, name: str) -> int:
    return [c.value for c in sheet[1]].index(name) + 1


def _upload(
    ws: Workspace, mesa: dict[str, Any], base: str, book: Any, apply: bool = False
) -> Response:
    output = io.BytesIO()
    book.save(output)
    return ws.client.post(
        f"{base}/matriz.xlsx",
        files={"file": ("matriz.xlsx", output.getvalue(), XLSX)},
        data={"aplicar": "true" if apply else "false"},
        headers=bearer(mesa["token"]),
    )


def _state(ws: Workspace, mesa: dict[str, Any], base: str) -> dict[str, Any]:
    headers = bearer(mesa["token"])
    return {
        "matriz": ws.client.get(f"{base}/matriz", headers=headers).json()["filas"],
        "compromisos": ws.client.get(f"{base}/compromisos", headers=headers).json()["compromisos"],
        "historial": history(ws, mesa),
    }


def test_excel_round_trip_previews_then_applies_the_edits(workspace: Workspace) -> None:
    ws = workspace
    mesa, base = _mesa_with_matrix(ws)
    book = _workbook(ws, mesa, base)
    matrix, commitments = book["Matriz"], book["Compromisos"]
    lists = [v.formula1 for v in matrix.data_validations.dataValidation]
    assert '"1,2,3,4,5"' in lists
    states = [v.formula1 for v in commitments.data_validations.dataValidation]
    assert '"pendiente,en curso,cumplido,cancelado"' in states
    # Edit: a score, a new row, a commitment's state.
    matrix.cell(row=3, column=_column(matrix, "urgencia"), value=4)
    new_line = matrix.max_row + 1
    matrix.cell(row=new_line, column=_column(matrix, "necesidad"), value="Transporte escolar")
    matrix.cell(row=new_line, column=_column(matrix, "magnitud"), value=3)
    commitments.cell(row=2, column=_column(commitments, "estado"), value="cumplido")
    before = _state(ws, mesa, base)
    preview = _upload(ws, mesa, base, book)
    assert preview.status_code == 200, preview.text
    assert preview.json()["aplicado"] is False
    assert sorted(c["accion"] for c in preview.json()["cambios"]) == [
        "crear",
        "modificar",
        "modificar",
    ]
    assert _state(ws, mesa, base) == before  # a preview writes nothing
    applied = _upload(ws, mesa, base, book, apply=True)
    assert applied.status_code == 200 and applied.json()["aplicado"] is True
    after = _state(ws, mesa, base)
    assert len(after["historial"]) == len(before["historial"]) + 3
    assert after["matriz"][1]["puntajes"]["urgencia"] == 4
    assert after["matriz"][2]["necesidad"] == "Transporte escolar"
    assert after["compromisos"][0]["estado"] == "cumplido"
    # Everything else is as it was.
    unchanged = ("necesidad", "desafio", "comuna", "brecha", "recursos")
    for old, new in zip(before["matriz"], after["matriz"][:2], strict=True):
        assert {k: old[k] for k in unchanged} == {k: new[k] for k in unchanged}
    assert after["matriz"][0] == before["matriz"][0]
    # Importing the same workbook again is a conflict: its rows are older than the store's.
    again = _upload(ws, mesa, base, book, apply=True)
    assert again.status_code == 409


def test_excel_import_names_a_conflicting_edit(workspace: Workspace) -> None:
    ws = workspace
    mesa, base = _mesa_with_matrix(ws)
    book = _workbook(ws, mesa, base)
    colleague = patch_fresh(ws, mesa["token"], f"{base}/matriz/1", {"recursos": "Pozo"})
    assert colleague.status_code == 200
    book["Matriz"].cell(row=2, column=_column(book["Matriz"], "recursos"), value="Camión aljibe")
    before = _state(ws, mesa, base)
    refused = _upload(ws, mesa, base, book, apply=True)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "hoja Matriz, fila 2" in detail and "Coordinación (coordinacion)" in detail
    assert _state(ws, mesa, base) == before


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("not_xlsx", "no es un libro de Excel"),
        ("no_sheet", "falta la hoja 'Matriz'"),
        ("formula", "fórmula"),
        ("out_of_range", "de 1 a 5"),
        ("not_a_number", "número entero"),
        ("bad_state", "no admitido en estado"),
    ],
)
def test_bad_workbooks_are_refused_in_spanish(
    workspace: Workspace, edit: str, message: str
) -> None:
    ws = workspace
    mesa, base = _mesa_with_matrix(ws)
    before = _state(ws, mesa, base)
    if edit == "not_xlsx":
        response = ws.client.post(
            f"{base}/matriz.xlsx",
            files={"file": ("matriz.xlsx", b"necesidad;magnitud\nAgua;5\n", XLSX)},
            headers=bearer(mesa["token"]),
        )
    else:
        book = _workbook(ws, mesa, base)
        matrix = book["Matriz"]
        score = matrix.cell(row=2, column=_column(matrix, "magnitud"))
        if edit == "no_sheet":
            matrix.title = "Hoja1"
        elif edit == "formula":
            score.value = "=2+2"
        elif edit == "out_of_range":
            score.value = 7
        elif edit == "not_a_number":
            score.value = "alta"
        else:
            book["Compromisos"].cell(row=2, column=6, value="listo")
        response = _upload(ws, mesa, base, book, apply=True)
    assert response.status_code == 422, response.text
    assert message in response.text
    assert _state(ws, mesa, base) == before


def test_printable_report_sums_money_and_commitments(workspace: Workspace) -> None:
    ws = workspace
    mesa = ws.create(nombre="Mesa <Monte Patria>", corrida=ws.run_id)
    headers = bearer(mesa["token"])
    base = f"/mesas/{mesa['id']}"
    row = ws.client.post(
        f"{base}/matriz", json={"necesidad": "Agua potable", "desafio": "agua"}, headers=headers
    ).json()
    amounts = [(100_000_000, 25_000_000), (40_000_000, None)]
    for index, (public, private) in enumerate(amounts):
        created = ws.client.post(
            f"{base}/iniciativas",
            json={
                "nombre": f"Iniciativa {index}",
                "tipologia": "Servicios_Básicos",
                "etapa": "financiada",
                "monto_publico_clp": public,
                "monto_privado_clp": private,
                "fuente_financiamiento": "FNDR",
                "filas_matriz": [row["id"]],
            },
            headers=headers,
        )
        assert created.status_code == 201, created.text
    me = mesa["miembro"]["id"]
    met = commitment(ws, mesa, me)
    done = patch_fresh(ws, mesa["token"], f"{base}/compromisos/{met}", {"estado": "cumplido"})
    assert done.status_code == 200
    commitment(ws, mesa, me, vence=(date.today() - timedelta(days=2)).isoformat())
    ws.client.post(
        f"{base}/hitos",
        json={"fecha": "2023-03-01", "tipo": "acuerdo firmado", "titulo": "Firma del acuerdo"},
        headers=headers,
    )
    assert ws.client.get(f"{base}/reporte").status_code == 401
    page = ws.client.get(f"{base}/reporte", headers=headers)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "Mesa &lt;Monte Patria&gt;" in html and "<Monte Patria>" not in html
    share = format_share(25_000_000 / 125_000_000, 1)
    assert (
        f"<strong>{share}</strong>aporte privado (1 iniciativas con ambos montos; 1 sin monto)"
        in html
    )
    assert f"$ {format_integer(140_000_000)}" in html and "(1 sin monto)" in html
    assert "Firma del acuerdo" in html
    assert f"<strong>{format_share(1.0)}</strong>compromisos cumplidos a tiempo" in html
    assert '<strong class="atrasado">1</strong>compromisos atrasados' in html
    gap = ws.client.get(f"{base}/matriz", headers=headers).json()["filas"][0]["brecha"]
    assert "Agua potable — " in html and f"lugar {format_integer(gap['lugar'])}" in html


def test_the_example_mesa_holds_only_seed_facts(workspace: Workspace) -> None:
    from geo_service.services.mesa_example import INITIATIVES, MEMBERS, create_example
    from layers.mesas import mesa_records

    ws = workspace
    created = create_example(ws.store, mesa_records(ws.store))
    headers = bearer(created["token"])
    base = f"/mesas/{created['id']}"
    mesa = ws.client.get(base, headers=headers).json()
    assert mesa["nombre"].startswith("EJEMPLO") and mesa["comunas"] == ["13505"]
    assert len(mesa["miembros"]) == len(MEMBERS) + 1
    initiatives = ws.client.get(f"{base}/iniciativas", headers=headers).json()["iniciativas"]
    assert len(initiatives) == len(INITIATIVES)
    # The article gives totals only: no amount per initiative is made up.
    assert all(i["monto_publico_clp"] is None for i in initiatives)
    matrix = ws.client.get(f"{base}/matriz", headers=headers).json()["filas"]
    assert all(r["prioridad"]["valor"] is None for r in matrix)  # nobody scored it
    follow_up = ws.client.get(f"{base}/seguimiento", headers=headers).json()["seguimiento"]
    assert "966 millones" in follow_up[0]["avance"] and follow_up[0]["fecha"] == "2023-03-25"
    page = ws.client.get(f"{base}/reporte", headers=headers).text
    assert "San Pedro (13505)" in page and "Fundación Huella Local" in page


def test_cli_runs_the_mesa_workflow(workspace: Workspace, tmp_path: Path) -> None:
    store = workspace.store
    if isinstance(store, EmbeddedStore):
        env = {"GEOGAPS_STORE_DIR": str(store.root), "GEOGAPS_DATABASE_URL": ""}
    else:
        url = store.engine.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
        env = {"GEOGAPS_DATABASE_URL": url}
    runner = CliRunner()

    def geogaps(*args: str) -> str:
        result = runner.invoke(cli.app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    created = geogaps("mesa", "ejemplo")
    mesa_id = re.search(r"mesa de ejemplo: ([0-9a-f]{16})", created)
    token = re.search(r"no se vuelve a mostrar\): (\S+)", created)
    assert mesa_id and token
    env["GEOGAPS_MESA_TOKEN"] = token.group(1)
    assert "Salud primaria rural" in geogaps("mesa", "matriz", mesa_id.group(1))
    book = tmp_path / "matriz.xlsx"
    geogaps("mesa", "exportar", mesa_id.group(1), "--salida", str(book))
    assert "0 cambios por aplicar" in geogaps("mesa", "importar", mesa_id.group(1), str(book))
    # As a user runs it: a wrong token is one Spanish sentence, exit 1, no traceback.
    stranger = run_geogaps(
        "mesa", "ver", mesa_id.group(1), env={**env, "GEOGAPS_MESA_TOKEN": "otro"}
    )
    assert stranger.returncode == 1 and "token" in stranger.stderr
    assert "Traceback" not in stranger.stderr


def test_no_mesa_route_answers_5xx(workspace: Workspace) -> None:
    """Every /mesas operation, with generated bodies and a valid coordination token."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        status_code_conformance,
    )

    ws = workspace
    mesa = ws.create(nombre="Mesa generada")
    schema = schemathesis.openapi.from_asgi("/openapi.json", ws.client.app)
    checked = []
    for result in schema.include(path_regex=r"^/mesas").get_all_operations():
        operation = cast(Any, result).ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=4,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case: Any) -> None:
            if case.path_parameters and "mesa_id" in case.path_parameters:
                case.path_parameters["mesa_id"] = mesa["id"]
            case.headers = {
                **(case.headers or {}),
                "Authorization": f"Bearer {mesa['token']}",
                "X-API-Key": API_KEY,
            }
            case.call_and_validate(
                checks=[not_a_server_error, status_code_conformance, content_type_conformance]
            )

        call()
        checked.append(operation.label)
    assert len(checked) >= 29, checked


def test_a_loaded_portfolio_becomes_initiatives_once(workspace: Workspace) -> None:
    ws = workspace
    projects = ws.store.read("project_sites", columns=["dataset", "project_id", "cut", "stage"])
    dataset = str(projects["dataset"].iloc[0])
    valid = projects[projects["stage"] == "diseño"].groupby("cut")["project_id"].count()
    invalid_cuts = set(projects.loc[~projects["stage"].isin(["diseño"]), "cut"])
    cut = next(c for c in valid.index if c not in invalid_cuts)
    mesa = ws.create(comunas=[cut])
    headers = bearer(mesa["token"])
    path = f"/mesas/{mesa['id']}/iniciativas/cartera"
    preview = ws.client.post(path, json={"conjunto": dataset}, headers=headers)
    assert preview.status_code == 200, preview.text
    assert preview.json()["aplicado"] is False and len(preview.json()["iniciativas"]) == valid[cut]
    listed = ws.client.get(f"/mesas/{mesa['id']}/iniciativas", headers=headers)
    assert listed.json()["iniciativas"] == []
    applied = ws.client.post(path, json={"conjunto": dataset, "aplicar": True}, headers=headers)
    assert applied.status_code == 200 and applied.json()["aplicado"] is True
    stored = ws.client.get(f"/mesas/{mesa['id']}/iniciativas", headers=headers).json()
    assert {i["origen"].split("/")[0] for i in stored["iniciativas"]} == {dataset}
    assert all(i["monto_privado_clp"] is None for i in stored["iniciativas"])  # none in the file
    again = ws.client.post(path, json={"conjunto": dataset, "aplicar": True}, headers=headers)
    assert again.json()["iniciativas"] == [] and len(again.json()["ya_importados"]) == valid[cut]
    # A project whose stage is not one of an initiative refuses the whole portfolio, named.
    bad_cut = sorted(invalid_cuts)[0]
    bad_project = projects.loc[
        (projects["cut"] == bad_cut) & (projects["stage"] != "diseño"), "project_id"
    ].iloc[0]
    other = ws.create(comunas=[bad_cut])
    refused = ws.client.post(
        f"/mesas/{other['id']}/iniciativas/cartera",
        json={"conjunto": dataset, "aplicar": True},
        headers=bearer(other["token"]),
    )
    assert refused.status_code == 422 and f"proyecto {bad_project}" in refused.text
    assert "no admitido en etapa" in refused.text
    empty = ws.client.get(f"/mesas/{other['id']}/iniciativas", headers=bearer(other["token"]))
    assert empty.json()["iniciativas"] == []


def test_profile_links_the_mesas_and_the_portfolio_reads_their_initiatives(
    workspace: Workspace,
) -> None:
    from analysis.decision.portfolio import PROJECT_SITES_SOURCE
    from layers.mesas import mesa_records

    ws = workspace
    # Cochamó: two loaded project_sites rows and no Mesa in any other test of this module.
    cochamo = "10103"
    loaded = ws.store.read("project_sites", cuts=[cochamo], columns=["project_id"])
    before = ws.client.get(f"/portafolio/{cochamo}").json()["commune"]
    assert before["portfolio_source"] == PROJECT_SITES_SOURCE
    assert before["projects_total"] == len(loaded) > 0
    assert "Sin mesa registrada." in ws.client.get(f"/comunas/{cochamo}").text

    mesa = ws.create(nombre="Mesa de Cochamó", comunas=[cochamo])
    path = f"/mesas/{mesa['id']}/iniciativas"
    common = {"tipologia": "Servicios Básicos", "monto_publico_clp": 900, "monto_privado_clp": 100}
    for name, stage in (("Posta rural", "perfil"), ("Camino descartado", "descartada")):
        body = {"nombre": name, "etapa": stage, **common}
        response = ws.client.post(path, json=body, headers=bearer(mesa["token"]))
        assert response.status_code == 201, response.text

    # The store answers which Mesas include a commune, without reading whole tables.
    found = mesa_records(ws.store).mesas_of_communes([cochamo])
    assert found == [{"mesa_id": mesa["id"], "nombre": "Mesa de Cochamó", "comunas": [cochamo]}]
    profile = ws.client.get(f"/comunas/{cochamo}").text
    assert f'href="/mesas/{mesa["id"]}/pagina">Mesa de Cochamó</a>' in profile
    assert f'href="/mesas/{mesa["id"]}/pagina#reporte"' in profile
    assert "Sin mesa registrada." not in profile

    # One source per fact: the Mesa's initiatives replace the loaded rows, never summed.
    after = ws.client.get(f"/portafolio/{cochamo}").json()
    commune = after["commune"]
    assert (
        mesa["id"] in commune["portfolio_source"]
        and "Mesa de Cochamó" in commune["portfolio_source"]
    )
    assert commune["projects_total"] == 1  # the discarded initiative is not in the portfolio
    assert commune["total_investment_clp"] == 1000 and commune["private_contribution_clp"] == 100
    assert [p["project_id"] for p in after["projects"]] == [f"{mesa['id']}/1"]
    assert {p["portfolio_source"] for p in after["projects"]} == {commune["portfolio_source"]}
    listed = ws.client.get("/portafolio", params={"region": "10"}).json()["communes"]
    assert [c["portfolio_source"] for c in listed if c["cut"] == cochamo] == [
        commune["portfolio_source"]
    ]
    assert "Fuente de la cartera" in ws.client.get("/portafolio.csv", params={"region": "10"}).text
    profile = ws.client.get(f"/comunas/{cochamo}").text
    assert f"Proyectos: {commune['portfolio_source']}. Brechas según" in profile


def test_map_and_progress_of_a_mesa(workspace: Workspace) -> None:
    from maps.page import tier_colour

    ws = workspace
    mesa = ws.create(comunas=[MONTE_PATRIA, COMBARBALA], corrida=ws.run_id)
    headers = bearer(mesa["token"])
    base = f"/mesas/{mesa['id']}"
    assert ws.client.get(f"{base}/mapa.geojson").status_code == 401
    initiatives = (
        {"nombre": "Con punto", "comuna": MONTE_PATRIA, "lon": -70.9, "lat": -30.7},
        {"nombre": "Sin punto", "comuna": COMBARBALA},
        {"nombre": "Intercomunal"},
    )
    for body in initiatives:
        body = {"tipologia": "Equipamiento", "etapa": "idea", **body}
        response = ws.client.post(f"{base}/iniciativas", json=body, headers=headers)
        assert response.status_code == 201, response.text
    collection = ws.client.get(f"{base}/mapa.geojson", headers=headers).json()
    communes = [f for f in collection["features"] if f["properties"]["tipo"] == "comuna"]
    assert sorted(f["properties"]["cut"] for f in communes) == [COMBARBALA, MONTE_PATRIA]
    matrix_gap = ws.client.post(
        f"{base}/matriz",
        json={"necesidad": "Brecha general", "desafio": "compuesto", "comuna": MONTE_PATRIA},
        headers=headers,
    )
    # The map's colour is the gap the matrix copies for the composite: one answer for both.
    assert matrix_gap.status_code == 201, matrix_gap.text
    gap = matrix_gap.json()["brecha"]
    shown = next(f for f in communes if f["properties"]["cut"] == MONTE_PATRIA)
    assert shown["properties"]["brecha"]["nivel"] == gap["nivel"] is not None
    for feature in communes:
        gap = feature["properties"]["brecha"]
        assert gap["corrida"] == ws.run_id
        assert feature["properties"]["color"] == tier_colour(gap.get("nivel"))
    points = {
        f["properties"]["nombre"]: f
        for f in collection["features"]
        if f["properties"]["tipo"] == "iniciativa"
    }
    assert points["Con punto"]["geometry"]["coordinates"] == [-70.9, -30.7]
    assert points["Con punto"]["properties"]["ubicacion"] == "punto"
    assert points["Sin punto"]["properties"]["ubicacion"] == "comuna"
    assert "Intercomunal" not in points and collection["sin_ubicacion"] == 1

    # Progress: a commitment met this month and a follow-up entry dated last year.
    me = mesa["miembro"]["id"]
    met = commitment(ws, mesa, me)
    patch_fresh(ws, mesa["token"], f"{base}/compromisos/{met}", {"estado": "cumplido"})
    commitment(ws, mesa, me)  # still open: not counted
    year_ago = date.today() - timedelta(days=365)
    follow = {"fecha": year_ago.isoformat(), "avance": "Diagnóstico compartido"}
    assert ws.client.post(f"{base}/seguimiento", json=follow, headers=headers).status_code == 201
    months = ws.client.get(f"{base}/avance", headers=headers).json()["meses"]
    assert months[0]["mes"] == year_ago.strftime("%Y-%m") and months[0]["seguimiento"] == 1
    assert months[-1]["mes"] == date.today().strftime("%Y-%m")
    assert months[-1]["cumplidos"] == 1 and months[-1]["cumplidos_acumulados"] == 1
    assert sum(m["cumplidos"] for m in months) == 1 and len(months) in (12, 13)
