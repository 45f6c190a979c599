"""The station's approvals client composed over HttpGateway, against a real server on both
databases: the list in words, refusals as ServerRefused with the problem type, a decision that
executes on the server, and a dead server as ServerUnavailable."""

from __future__ import annotations

import pytest

from server.bootstrap import Services
from server.domain.actor import SYSTEM, Actor
from server.services.rules import RuleSpec
from shared.contract.approvals import payload_digest
from station.sync.approvals_client import HttpApprovalsClient
from station.sync.client import HttpGateway, ServerRefused, ServerUnavailable
from tests.server.http import count_rows, sign_in
from tests.station.sync.server_support import ServerRunner


def test_list_refuse_and_decide_over_http(svc: Services, server: ServerRunner) -> None:
    creds = sign_in(svc, badge="BADGE-SUE", roles=frozenset({"supervisor"}))
    ann = svc.identity.create_operator(name="Ann", badge="BADGE-ANN", roles={"admin"},
                                       actor=SYSTEM)  # fmt: skip
    asked = svc.rules.request_create(
        spec=RuleSpec(name="near", strategy="proximity"),
        reason="ship from near",
        actor=Actor(operator_id=ann, roles=frozenset({"admin"}), name="Ann"),
    ).approval
    assert asked is not None
    gateway = HttpGateway(base_url=server.url, station_token=creds.station_token)
    client = HttpApprovalsClient(gateway=gateway)
    try:
        with pytest.raises(ServerRefused) as anonymous:
            client.pending()  # nobody signed in at the station
        assert anonymous.value.status == 401
        gateway.login(badge="BADGE-SUE")
        [item] = client.pending()
        assert item.id == asked.id and item.requested_by_name == "Ann"
        assert item.words.startswith("New allocation rule 'near'")
        seen = payload_digest(item.payload)
        with pytest.raises(ServerRefused) as own:
            client.decide(approval_id=item.id, approve=True, reason="mine", payload_hash=seen,
                          badge="BADGE-ANN")  # fmt: skip
        assert own.value.status == 403 and own.value.problem_type.endswith("self-approval")
        with pytest.raises(ServerRefused) as tampered:
            client.decide(approval_id=item.id, approve=True, reason="ok",
                          payload_hash=payload_digest({**item.payload, "priority": 1}),
                          badge="BADGE-SUE")  # fmt: skip
        assert tampered.value.problem_type.endswith("approval-payload-mismatch")
        assert count_rows(svc, "allocation_rule") == 0
        done = client.decide(approval_id=item.id, approve=True, reason="REASON-CHECKED",
                             payload_hash=seen, badge="BADGE-SUE")  # fmt: skip
        assert done.state == "executed" and done.decided_by_name == "Test Admin"
        assert count_rows(svc, "allocation_rule") == 1
        assert client.pending() == []
        server.stop()
        with pytest.raises(ServerUnavailable):
            client.pending()
    finally:
        gateway.close()
