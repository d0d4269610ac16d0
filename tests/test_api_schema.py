"""Property-based run over the OpenAPI of the serving API (bounded examples).

Every answer is checked for conformance with the document: no 5xx, a status the operation
declares, a media type it declares, and a body matching the declared schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from geo_service.app import create_app
from geo_service.settings import Settings

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

#: The routes checked: the core API, OGC API - Features and the tiles' descriptions, and the
#: Zonas Rezagadas and portfolio reviews. Left out for time: siting and the Sobol' analysis
#: (seconds per call; their own tests cover their bounds) and the map's PNG.
CORE_PATHS = (
    r"^/(health|ready|datasets|layers/\{table\}|runs|runs/\{run_id\}|scores|communes"
    r"|communes/\{cut\}|priorities|gaps|clusters|groups|exports/scores\.\{extension\}"
    r"|conformance|collections|collections/\{collection_id\}"
    r"|collections/\{collection_id\}/items|collections/\{collection_id\}/items/\{feature_id\}"
    r"|tiles/\{collection_id\}\.json|rezago|rezago/\{cut\}|portafolio|portafolio/\{cut\}"
    r"|exports/prioridades\.csv|audit)?$"
)


@pytest.fixture(scope="module")
def api_schema(national_postgis):
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring

    run_scoring(national_postgis, ScoringParameters(draws=10, seed=21))
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    # Schemathesis starts the app's lifespan again for its cases: with a warm-up, /ready would
    # rightly answer 503 (warming) to the first of them. The warm-up has tests of its own.
    app = create_app(Settings(database_url=url, warm_caches=False))
    with TestClient(app) as client:  # runs the lifespan: the store is open while the cases run
        # The first /gaps reads and caches the analysis inputs; do it before timing anything.
        assert client.get("/gaps", params={"challenge": "agua"}).status_code == 200
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        yield schema.include(path_regex=CORE_PATHS, method="GET")


def test_core_api_never_answers_5xx(api_schema):
    checked = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=4,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case):
            case.call_and_validate(
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
                timeout=120,
            )

        call()
        checked.append(operation.label)
    assert len(checked) >= 25, checked
