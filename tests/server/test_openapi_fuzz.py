"""Property-based fuzzing of the whole HTTP API from its own OpenAPI document.

Every operation gets a few generated requests (valid and invalid shapes) with a real station and
admin/supervisor session: the server must never answer 5xx, and every 4xx must be problem+json.
"""

from __future__ import annotations

from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from shared.contract import API_PREFIX
from tests.server.http import count_rows, is_problem, sign_in
from tests.server.world import build_world

EXAMPLES_PER_OPERATION = 6  # per generation mode; keeps one database's run well under 60 s
MIN_CALLS = 100


def _fuzz_operation(operation: Any, *, base: str, auth: dict[str, str],
                    sink: list[str], calls: list[int]) -> None:  # fmt: skip
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION * 2, deadline=None, database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are collected
        suppress_health_check=list(HealthCheck), derandomize=True,
    )  # fmt: skip
    @given(case=strategy)
    def run(case: Any) -> None:
        # Generated Authorization/X-Operator-Token values would only ever meet the 401 wall.
        case.headers = {**(case.headers or {}), **auth}
        try:
            response = case.call(base_url=base, timeout=30)
        except schemathesis.errors.SerializationNotPossible:
            return
        calls.append(response.status_code)
        where = f"{case.method} {case.formatted_path} -> {response.status_code}"
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except (AssertionError, FailureGroup) as exc:
            sink.append(f"{where}: {exc}\n{case.as_curl_command(base_url=base)}")
            return
        content_type = response.headers.get("content-type", [""])[0]
        if 400 <= response.status_code < 500 and not is_problem(content_type):
            sink.append(f"{where}: 4xx with content-type {content_type!r}: {response.text[:200]}")

    run()


@pytest.mark.timeout(120)
def test_no_operation_answers_5xx_and_every_4xx_is_a_problem(
    svc: Services, live_server: str
) -> None:
    world = build_world(svc)
    svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=5, actor=SYSTEM)
    auth = sign_in(svc).headers
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json", timeout=30)
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if operation.path.endswith("/stations/stream"):
            # A server-sent event stream never completes by design; its own tests read it.
            continue
        operations += 1
        _fuzz_operation(operation, base=live_server, auth=auth, sink=failures, calls=calls)
    assert operations >= 20, operations
    assert len(calls) >= MIN_CALLS, f"only {len(calls)} requests were sent"
    assert any(200 <= c < 300 for c in calls), "no request got past validation and auth"
    assert not failures, "\n\n".join(failures[:20])


# Found by the fuzzer above; pinned as plain examples so the regression is named.
HUGE = 2**70  # beyond BIGINT: the schema says "integer" with no bounds, so clients may send it

OUT_OF_RANGE = [
    ("GET", f"/orders/{HUGE}", None),
    ("PATCH", f"/orders/{HUGE}", {"address": None, "lines": None}),
    ("POST", f"/orders/{HUGE}/allocate", None),
    ("POST", f"/orders/{HUGE}/cancel", {"reason": "fuzz"}),
    ("GET", f"/approvals/{HUGE}", None),
    ("POST", f"/tasks/{HUGE}/claim", None),
    ("POST", "/locations", {"warehouse_id": HUGE, "code": "X-01"}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    OUT_OF_RANGE,
    ids=[f"{m} {p.replace(str(HUGE), 'HUGE')}" for m, p, _ in OUT_OF_RANGE],
)
def test_an_id_beyond_bigint_is_a_4xx_problem_not_a_500(
    svc: Services, live_server: str, method: str, path: str, body: dict[str, Any] | None
) -> None:  # fmt: skip
    build_world(svc)
    auth = sign_in(svc, roles=frozenset({"admin", "supervisor", "packer"})).headers
    with httpx.Client(base_url=live_server, timeout=30, headers=auth) as c:
        r = c.request(method, f"{API_PREFIX}{path}", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert is_problem(r.headers["content-type"])


def test_a_location_in_an_unknown_warehouse_is_a_4xx_problem_not_a_500(
    svc: Services, live_server: str
) -> None:
    build_world(svc)
    before = count_rows(svc, "location")
    auth = sign_in(svc).headers
    with httpx.Client(base_url=live_server, timeout=30, headers=auth) as c:
        r = c.post(f"{API_PREFIX}/locations", json={"warehouse_id": 4233, "code": "X-01"})
    assert r.status_code == 404, r.text
    assert is_problem(r.headers["content-type"])
    assert count_rows(svc, "location") == before
