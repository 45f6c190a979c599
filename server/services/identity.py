"""Stations enrol with a one-time code; operators sign in with their badge (and PIN where set).

Secrets are never stored: tokens, codes and badges are kept as SHA-256 digests (they are long
random values or printed card numbers looked up by equality); PINs are short, so they get scrypt
with a per-operator salt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, insert, select, update

from server.db import audit
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.errors import DuplicateEntry, Forbidden, Unauthenticated, ValidationFailed
from server.services.context import Clock
from server.services.unit_of_work import UnitOfWork

ROLES = frozenset({"picker", "packer", "returns", "dispatch", "supervisor", "admin"})


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_pin(pin: str) -> str:
    salt = secrets.token_hex(16)
    key = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1).hex()
    return f"{salt}${key}"


def check_pin(pin: str, stored: str) -> bool:
    salt, _, key = stored.partition("$")
    got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1).hex()
    return hmac.compare_digest(got, key)


@dataclass(frozen=True, slots=True)
class StationIdentity:
    id: int
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class OperatorLogin:
    token: str
    operator_id: int
    name: str
    roles: tuple[str, ...]


_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class IdentityService:
    def __init__(
        self, *, uow: UnitOfWork, clock: Clock, session_hours: int, code_hours: int
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.session_hours = session_hours
        self.code_hours = code_hours

    def create_operator(
        self, *, name: str, badge: str, roles: set[str], actor: Actor, pin: str | None = None
    ) -> int:
        unknown = roles - ROLES
        if unknown or not roles:
            raise ValidationFailed(f"roles must be some of {sorted(ROLES)}; got {sorted(roles)}")
        if len(badge.strip()) < 4:
            raise ValidationFailed("a badge barcode has at least 4 characters")
        if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValidationFailed("a PIN is 4 to 8 digits")

        def work(conn: Connection) -> int:
            now = self.clock()
            op = t.operator
            if conn.execute(select(op.c.id).where(op.c.badge_hash == digest(badge))).first():
                raise DuplicateEntry("that badge already belongs to an operator")
            oid = conn.execute(
                insert(op)
                .values(
                    name=name,
                    badge_hash=digest(badge),
                    pin_hash=hash_pin(pin) if pin else None,
                    roles=",".join(sorted(roles)),
                    created_at=now,
                )
                .returning(op.c.id)
            ).scalar_one()
            audit.record(
                conn,
                at=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                entity="operator",
                entity_id=oid,
                action="create",
                detail={"name": name, "roles": sorted(roles)},
            )
            return int(oid)

        return self.uow.write(work)

    def issue_enrolment_code(self, *, station_name: str, kind: str, actor: Actor) -> str:
        # Typed once at installation: letters and digits only (a code starting with "-" would
        # be read as an option by `packline-station --enrol`), no 0/O or 1/I/L to misread.
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))

        def work(conn: Connection) -> None:
            now = self.clock()
            conn.execute(
                insert(t.enrolment_code).values(
                    code_hash=digest(code),
                    station_name=station_name,
                    station_kind=kind,
                    created_by=actor.operator_id,
                    created_at=now,
                    expires_at=now + timedelta(hours=self.code_hours),
                )
            )
            audit.record(
                conn,
                at=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                entity="station",
                entity_id=station_name,
                action="enrolment_code",
                detail={"kind": kind},
            )

        self.uow.write(work)
        return code

    def enrol(self, *, code: str) -> tuple[str, StationIdentity]:
        """Exchange a one-time code for the station's own token (shown once, stored hashed)."""
        token = secrets.token_urlsafe(32)

        def work(conn: Connection) -> StationIdentity:
            now = self.clock()
            ec = t.enrolment_code
            row = conn.execute(select(ec).where(ec.c.code_hash == digest(code))).first()
            if row is None or row.used_at is not None or row.expires_at <= now:
                raise Unauthenticated("the enrolment code is unknown, used or expired")
            sid = conn.execute(
                insert(t.station)
                .values(
                    name=row.station_name,
                    kind=row.station_kind,
                    token_hash=digest(token),
                    enrolled_at=now,
                )
                .returning(t.station.c.id)
            ).scalar_one()
            used = conn.execute(
                update(ec)
                .where(ec.c.id == row.id, ec.c.used_at.is_(None))
                .values(used_at=now, station_id=sid)
            )
            if used.rowcount != 1:
                raise Unauthenticated("the enrolment code was used at the same moment")
            audit.record(
                conn,
                at=now,
                station_id=sid,
                operator_id=None,
                entity="station",
                entity_id=sid,
                action="enrol",
                detail={"name": row.station_name},
            )
            return StationIdentity(int(sid), row.station_name, row.station_kind)

        return token, self.uow.write(work)

    def station_for_token(self, token: str) -> StationIdentity:
        def work(conn: Connection) -> StationIdentity:
            st = t.station
            r = conn.execute(
                select(st.c.id, st.c.name, st.c.kind, st.c.active).where(
                    st.c.token_hash == digest(token)
                )
            ).first()
            if r is None or not r.active:
                raise Unauthenticated("unknown or revoked station token")
            return StationIdentity(int(r.id), r.name, r.kind)

        return self.uow.read(work)

    def login(self, *, station_id: int, badge: str, pin: str | None) -> OperatorLogin:
        token = secrets.token_urlsafe(32)

        def work(conn: Connection) -> OperatorLogin:
            now = self.clock()
            op = t.operator
            r = conn.execute(select(op).where(op.c.badge_hash == digest(badge))).first()
            if r is None or not r.active:
                raise Unauthenticated("this badge is not known")
            if r.pin_hash and (pin is None or not check_pin(pin, r.pin_hash)):
                raise Unauthenticated("the PIN does not match the badge")
            conn.execute(
                insert(t.operator_session).values(
                    token_hash=digest(token),
                    operator_id=r.id,
                    station_id=station_id,
                    created_at=now,
                    expires_at=now + timedelta(hours=self.session_hours),
                )
            )
            audit.record(
                conn,
                at=now,
                station_id=station_id,
                operator_id=r.id,
                entity="operator",
                entity_id=r.id,
                action="login",
                detail={},
            )
            return OperatorLogin(token, int(r.id), r.name, tuple(r.roles.split(",")))

        return self.uow.write(work)

    def authenticate(self, *, station_token: str, operator_token: str | None) -> Actor:
        """Station token and operator session in one read: every API call pays for it."""

        def work(conn: Connection) -> Actor:
            now = self.clock()
            st, s, op = t.station, t.operator_session, t.operator
            if not operator_token:
                only = conn.execute(
                    select(st.c.id, st.c.name, st.c.active).where(
                        st.c.token_hash == digest(station_token)
                    )
                ).first()
                if only is None or not only.active:
                    raise Unauthenticated("unknown or revoked station token")
                return Actor(station_id=int(only.id), name=only.name)
            joined = conn.execute(
                select(
                    st.c.id.label("station_id"), st.c.active, op.c.id, op.c.name, op.c.roles,
                    op.c.active.label("operator_active"), s.c.expires_at, s.c.ended_at,
                    s.c.station_id.label("session_station"),
                )
                .select_from(st)
                .outerjoin(s, s.c.token_hash == digest(operator_token))
                .outerjoin(op, op.c.id == s.c.operator_id)
                .where(st.c.token_hash == digest(station_token))
            ).first()  # fmt: skip
            if joined is None or not joined.active:
                raise Unauthenticated("unknown or revoked station token")
            r = joined
            if r.id is None or r.ended_at is not None or r.expires_at <= now:
                raise Unauthenticated("the operator session is unknown or has ended")
            if not r.operator_active:
                raise Unauthenticated("the operator is no longer active")
            if r.session_station != r.station_id:
                raise Forbidden("that operator session belongs to another station")
            return Actor(int(r.station_id), int(r.id), frozenset(r.roles.split(",")), r.name)

        return self.uow.read(work)

    def supervisor_badge_digests(self) -> list[str]:
        """SHA-256 digests of active supervisors' badges: a bench checks an override badge
        against these while offline, and never learns a badge it has not seen scanned."""

        def work(conn: Connection) -> list[str]:
            op = t.operator
            rows = conn.execute(select(op.c.badge_hash, op.c.roles).where(op.c.active.is_(True)))
            return sorted(
                str(r.badge_hash)
                for r in rows
                if {"supervisor", "admin"} & set(str(r.roles).split(","))
            )

        return self.uow.read(work)

    def badge_actor(self, *, station_id: int | None, badge: str, pin: str | None) -> Actor:
        """Resolve a badge scanned for a one-off decision (an approval) without a session."""

        def work(conn: Connection) -> Actor:
            op = t.operator
            r = conn.execute(select(op).where(op.c.badge_hash == digest(badge))).first()
            if r is None or not r.active:
                raise Unauthenticated("this badge is not known")
            if r.pin_hash and (pin is None or not check_pin(pin, r.pin_hash)):
                raise Unauthenticated("the PIN does not match the badge")
            return Actor(station_id, int(r.id), frozenset(r.roles.split(",")), r.name)

        return self.uow.read(work)
