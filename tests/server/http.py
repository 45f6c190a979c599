"""HTTP test helpers: an enrolled station and a signed-in operator, made through the services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from server.bootstrap import Services
from server.db import tables as t
from server.domain.actor import SYSTEM


@dataclass(frozen=True, slots=True)
class Credentials:
    station_id: int
    station_token: str
    operator_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.station_token}",
            "X-Operator-Token": self.operator_token,
        }


def sign_in(svc: Services, *, badge: str = "BADGE-ADMIN-1",
            roles: frozenset[str] = frozenset({"admin", "supervisor"})) -> Credentials:  # fmt: skip
    svc.identity.create_operator(name="Test Admin", badge=badge, roles=set(roles), actor=SYSTEM)
    code = svc.identity.issue_enrolment_code(station_name="bench-test", kind="bench", actor=SYSTEM)
    token, station = svc.identity.enrol(code=code)
    login = svc.identity.login(station_id=station.id, badge=badge, pin=None)
    return Credentials(station.id, token, login.token)


def count_rows(svc: Services, table: str) -> int:
    tbl = t.metadata.tables[table]
    return int(svc.uow.read(lambda conn: conn.execute(select(func.count()).select_from(tbl))
                            .scalar_one()))  # fmt: skip


def is_problem(content_type: str) -> bool:
    return content_type.split(";")[0].strip() == "application/problem+json"
