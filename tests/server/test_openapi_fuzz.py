"""Property-based fuzzing of the whole HTTP API from its own OpenAPI document.

Every operation gets a few generated requests (valid and invalid shapes) with a real station and
admin/supervisor session: the server must never answer 5xx, and every 4xx must be problem+json.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from tests.server.http import is_problem, sign_in
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
        except Exception as exc:  # schemathesis raises a FailureGroup (an ExceptionGroup)
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
        operation = result.ok()
        operations += 1
        _fuzz_operation(operation, base=live_server, auth=auth, sink=failures, calls=calls)
    assert operations >= 20, operations
    assert len(calls) >= MIN_CALLS, f"only {len(calls)} requests were sent"
    assert any(200 <= c < 300 for c in calls), "no request got past validation and auth"
    assert not failures, "\n\n".join(failures[:20])
