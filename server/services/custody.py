"""Custody: the dispatch handover scan, carrier tracking events (webhooks and polling), the
custody cut-off sweep, and the order states that follow from them.

The rule (domain.md): a package is shipped only on a carrier custody event. The dock scan is
our evidence that we handed it over; the carrier's event is theirs that they have it. A package
handed over and not heard of past the cut-off becomes a custody exception in the exception queue;
its custody (or delivery) event closes it. Providers are called with no transaction open.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from server.carriers.base import (
    CUSTODY,
    Carrier,
    CarrierError,
    InvalidWebhook,
    TrackingEvent,
    TrackingStatus,
)
from server.db import audit, order_records
from server.db import shipping_tables as st
from server.db import tables as t
from server.domain.actor import SYSTEM, Actor
from server.domain.errors import InvalidSignature, NotFound, ValidationFailed
from server.domain.orders import OrderState
from server.domain.packages import LIVE, PackageState, check_package_transition, tracking_matches
from server.services.context import Clock
from server.services.ledger import deduct_order
from server.services.live_events import LiveEvents
from server.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
P = PackageState
pk, sh, pu = st.shipment_package, st.shipment, st.carrier_pickup


@dataclass(frozen=True, slots=True)
class HandoverResult:
    package: dict[str, Any]
    order_id: int
    order_state: str
    duplicate: bool  # the carton was already on this pickup: nothing changed
    remaining: int  # packages of this order still to hand over


@dataclass(frozen=True, slots=True)
class TrackingOutcome:
    recorded: int  # new events stored
    duplicates: int  # events heard before (a replayed webhook, a poll seeing the same event)
    unknown: int  # tracking numbers that are not ours


def event_key(event: TrackingEvent) -> str:
    """The provider's event id, or a digest of what the event says when it has none."""
    if event.event_id:
        return event.event_id[:160]
    text = f"{event.status}|{event.occurred_at.isoformat()}|{event.description}|{event.raw_status}"
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _candidates(scanned: str) -> list[str]:
    """Tracking numbers a dock scan may carry: itself, or its tail after USPS's 420+ZIP."""
    s = scanned.strip().replace("\x1d", "")
    found = [s, s.upper()]
    if s.startswith("420"):
        found += [s[8:], s[12:]]
    return [c for c in dict.fromkeys(found) if c]


class CustodyService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        deduct_at: OrderState,
        cutoff: timedelta,
        poll_after: timedelta,
        live: LiveEvents | None = None,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.deduct_at = deduct_at
        self.cutoff = cutoff
        self.poll_after = poll_after
        self.live = live

    # -- dispatch door ---------------------------------------------------------------------
    def open_pickup(self, *, carrier: str, actor: Actor) -> dict[str, Any]:
        if not carrier.strip():
            raise ValidationFailed("say which carrier is collecting")

        def work(conn: Connection) -> dict[str, Any]:
            now = self.clock()
            pid = conn.execute(
                insert(pu).values(carrier=carrier.strip(), state="open", opened_at=now,
                                  station_id=actor.station_id, operator_id=actor.operator_id)
                .returning(pu.c.id)
            ).scalar_one()  # fmt: skip
            audit.record(conn, at=now, station_id=actor.station_id, operator_id=actor.operator_id,
                         entity="pickup", entity_id=pid, action="open",
                         detail={"carrier": carrier})  # fmt: skip
            return _pickup(conn, pid)

        return self.uow.write(work)

    def close_pickup(self, *, pickup_id: int, actor: Actor) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            now = self.clock()
            done = conn.execute(update(pu).where(pu.c.id == pickup_id, pu.c.state == "open")
                                .values(state="closed", closed_at=now))  # fmt: skip
            if done.rowcount != 1:
                _pickup(conn, pickup_id)  # 404 when it does not exist
                raise ValidationFailed(f"pickup {pickup_id} is already closed")
            audit.record(conn, at=now, station_id=actor.station_id, operator_id=actor.operator_id,
                         entity="pickup", entity_id=pickup_id, action="close")  # fmt: skip
            return _pickup(conn, pickup_id)

        return self.uow.write(work)

    def pickup(self, *, pickup_id: int) -> dict[str, Any]:
        return self.uow.read(lambda conn: _pickup(conn, pickup_id))

    def handover(self, *, pickup_id: int, scanned: str, actor: Actor) -> HandoverResult:
        """The dock scan of one carton onto a carrier's pickup. Refuses with words a loader
        understands: a voided label, a carton the bench never label-scanned, another carrier's
        parcel, a closed pickup."""

        def work(conn: Connection) -> tuple[HandoverResult, str | None]:
            now = self.clock()
            pickup = _pickup(conn, pickup_id)
            if pickup["state"] != "open":
                raise ValidationFailed(f"pickup {pickup_id} is closed: open a new one")
            row = _package_by_scan(conn, scanned)
            state = PackageState(row.state)
            if state is P.VOIDED:
                raise ValidationFailed(
                    f"label {row.tracking_number} was VOIDED: do not ship this carton, take it "
                    "back to the bench for a new label"
                )
            if row.carrier.casefold() != str(pickup["carrier"]).casefold():
                raise ValidationFailed(
                    f"this carton goes with {row.carrier}, not {pickup['carrier']}: keep it back"
                )
            if state is P.HANDED_OVER and row.pickup_id == pickup_id:
                return self._result(conn, row, duplicate=True), None
            if state is P.BOUGHT:
                raise ValidationFailed(
                    f"the label {row.tracking_number} was never scanned onto the carton at the "
                    "bench: take it back to be checked"
                )
            check_package_transition(current=state, target=P.HANDED_OVER)
            conn.execute(update(pk).where(pk.c.id == row.id, pk.c.state == state.value)
                         .values(state=P.HANDED_OVER.value, pickup_id=pickup_id,
                                 handed_over_at=now, updated_at=now))  # fmt: skip
            moved = self._advance_order(conn, row.order_id, actor, now, via="handover")
            return self._result(conn, row, duplicate=False), moved

        result, moved = self.uow.write(work)
        self._announce(result.order_id, moved, "handed_over")
        return result

    def _result(self, conn: Connection, row: Any, *, duplicate: bool) -> HandoverResult:
        packages = _order_packages(conn, row.order_id)
        remaining = sum(1 for p in packages if p.state in (P.BOUGHT.value, P.LABELLED.value))
        me = next(dict(p._mapping) for p in packages if p.id == row.id)
        me.pop("zpl", None)
        state = order_records.state_of(conn, row.order_id)
        return HandoverResult(me, row.order_id, state.value, duplicate, remaining)

    def waiting(self, *, handed_over: bool = False) -> list[dict[str, Any]]:
        """Cartons with a live label that have not left the building, oldest first: what the
        dispatch door should still see (bought but never label-scanned ones included). With
        `handed_over`: the cartons handed over that no carrier has scanned yet (on the dock or
        the truck; a void of one of those needs a second person)."""
        states = [P.HANDED_OVER.value] if handed_over else [P.BOUGHT.value, P.LABELLED.value]

        def work(conn: Connection) -> list[dict[str, Any]]:
            so = t.sales_order
            rows = conn.execute(
                select(pk.c.id, pk.c.tracking_number, pk.c.carrier, pk.c.service, pk.c.state,
                       pk.c.package_no, pk.c.labelled_at, pk.c.created_at,
                       so.c.id.label("order_id"), so.c.number.label("order_number"))
                .join(sh, sh.c.id == pk.c.shipment_id).join(so, so.c.id == sh.c.order_id)
                .where(pk.c.state.in_(states))
                .order_by(pk.c.created_at, pk.c.id)
            ).all()  # fmt: skip
            return [dict(r._mapping) for r in rows]

        return self.uow.read(work)

    # -- tracking --------------------------------------------------------------------------
    def record(self, events: Sequence[TrackingEvent], *, source: str) -> TrackingOutcome:
        """Store each event once and move packages and orders on; one transaction per event so a
        bad one (unknown number) never blocks the rest of a webhook or poll."""
        recorded = duplicates = unknown = 0
        for event in events:
            reached: tuple[int, str] | None = None
            try:
                outcome, reached = self.uow.write(partial(self._record_one, event=event,
                                                          source=source))  # fmt: skip
            except IntegrityError:  # the same event raced in through the other door
                outcome = "duplicate"
            if reached is not None:
                self._announce(reached[0], reached[1], "carrier")
            if outcome == "unknown":
                unknown += 1
                log.info("tracking event for unknown number %s (%s)", event.tracking_number,
                         event.provider)  # fmt: skip
            elif outcome == "duplicate":
                duplicates += 1
            else:
                recorded += 1
        return TrackingOutcome(recorded, duplicates, unknown)

    def _record_one(
        self, conn: Connection, *, event: TrackingEvent, source: str
    ) -> tuple[str, tuple[int, str] | None]:
        now = self.clock()
        row = conn.execute(
            select(pk, sh.c.order_id).join(sh, sh.c.id == pk.c.shipment_id)
            .where(pk.c.tracking_number == event.tracking_number,
                   pk.c.provider == event.provider)
            .order_by((pk.c.state == P.VOIDED.value).asc(), pk.c.id.desc()).limit(1)
        ).first()  # fmt: skip
        if row is None:
            return "unknown", None
        key = event_key(event)
        seen = conn.execute(select(st.tracking_event.c.id).where(
            st.tracking_event.c.package_id == row.id, st.tracking_event.c.event_key == key)
        ).first()  # fmt: skip
        if seen is not None:
            return "duplicate", None
        conn.execute(insert(st.tracking_event).values(
            package_id=row.id, provider=event.provider, event_key=key, status=event.status.value,
            raw_status=event.raw_status[:80], description=event.description,
            occurred_at=event.occurred_at, source=source, received_at=now))  # fmt: skip
        conn.execute(update(pk).where(pk.c.id == row.id).values(last_tracking_at=now))
        state = self._apply(conn, row, event, key, source, now)
        return "recorded", (row.order_id, state) if state else None

    def _apply(self, conn: Connection, row: Any, event: TrackingEvent, key: str, source: str,
               now: datetime) -> str | None:  # fmt: skip
        """Returns the order's new state when it moved."""
        state = PackageState(row.state)
        if state is P.VOIDED:
            return None  # kept as evidence; a voided label moving is for a person to look at
        if event.status is TrackingStatus.EXCEPTION:
            order_records.open_exception(
                conn, order_id=row.order_id, channel_id=None, kind="carrier",
                reason=f"{row.carrier} reports a problem with {row.tracking_number}: "
                       f"{event.description or event.raw_status}",
                detail={"package_id": row.id, "event": key}, now=now,
                recommendation="call the carrier with the tracking number",
                dedup_key=f"carrier:{row.id}:{key}"[:128],
            )  # fmt: skip
            return None
        if event.status not in CUSTODY:
            return None
        target = P.DELIVERED if event.status is TrackingStatus.DELIVERED else P.IN_TRANSIT
        if state is target or state is P.DELIVERED:
            return None  # repeated or out-of-order news never moves a package back
        check_package_transition(current=state, target=target)
        values: dict[str, Any] = {"state": target.value, "updated_at": now}
        if row.custody_at is None:
            values["custody_at"] = event.occurred_at
        if target is P.DELIVERED:
            values["delivered_at"] = event.occurred_at
        conn.execute(update(pk).where(pk.c.id == row.id).values(**values))
        _close_custody_exceptions(conn, row.id, key, now)
        evidence = {"package_id": row.id, "tracking_number": row.tracking_number,
                    "event": key, "status": event.status.value, "source": source,
                    "occurred_at": event.occurred_at.isoformat()}  # fmt: skip
        return self._advance_order(conn, row.order_id, SYSTEM, now, via="carrier",
                                   evidence=evidence)  # fmt: skip

    def _advance_order(self, conn: Connection, order_id: int, actor: Actor, now: datetime, *,
                       via: str, evidence: dict[str, Any] | None = None) -> str | None:  # fmt: skip
        """Move the order as far as its live packages allow: handed over when every carton was
        scanned at the dock; shipped when the carrier has every one; delivered when all are."""
        packages = [p for p in _order_packages(conn, order_id) if p.state in LIVE]
        if not packages:
            return None
        states = {PackageState(p.state) for p in packages}
        current = order_records.state_of(conn, order_id, for_update=True)
        steps: list[tuple[OrderState, dict[str, Any]]] = []
        at = current
        carrier_has_all = states <= {P.IN_TRANSIT, P.DELIVERED}
        if (
            via == "handover"
            and at is OrderState.LABELLED
            and states <= {P.HANDED_OVER, P.IN_TRANSIT, P.DELIVERED}
        ):
            scans = [{"package_id": p.id, "tracking_number": p.tracking_number,
                      "pickup_id": p.pickup_id} for p in packages]  # fmt: skip
            steps.append((OrderState.HANDED_OVER, {"handover_scan": scans}))
            at = OrderState.HANDED_OVER
        if (
            via == "carrier"
            and at in (OrderState.LABELLED, OrderState.HANDED_OVER)
            and (carrier_has_all)
        ):
            steps.append((OrderState.SHIPPED, {"custody_event": evidence}))
            at = OrderState.SHIPPED
        if via == "carrier" and at is OrderState.SHIPPED and states == {P.DELIVERED}:
            steps.append((OrderState.DELIVERED, {"delivery_event": evidence}))
        if via == "carrier" and current in (OrderState.PACKED, OrderState.PACKING):
            # The carrier has a parcel whose label the bench never scanned: nobody proved this
            # carton holds this order. Evidence cannot be invented; a person must look.
            order_records.open_exception(
                conn, order_id=order_id, channel_id=None, kind="custody",
                reason="the carrier has a parcel whose label was never scanned at the bench",
                detail={"evidence": evidence}, now=now, dedup_key=f"custody-unscanned:{order_id}",
                recommendation="check the carton's contents against the order with the carrier",
            )  # fmt: skip
            return None
        if not steps:
            return None
        final = order_records.transition_chain(
            conn, order_id=order_id, current=current, steps=steps, actor=actor, now=now
        )
        reached = {s for s, _ in steps}
        if OrderState.SHIPPED in reached or (
            OrderState.HANDED_OVER in reached and self.deduct_at is OrderState.HANDED_OVER
        ):
            deduct_order(conn, order_id=order_id, actor=actor, now=now)  # no-op when done
        return final.value

    # -- the custody loop: polling fallback and cut-off sweep ------------------------------
    def poll(self, carriers: Sequence[Carrier], *, timeout_s: float = 10.0) -> TrackingOutcome:
        """Ask the provider for packages not heard from lately (webhooks get lost)."""
        now = self.clock()
        stale = now - self.poll_after
        rows = self.uow.read(lambda conn: conn.execute(
            select(pk.c.id, pk.c.provider, pk.c.account, pk.c.carrier, pk.c.tracking_number)
            .where(or_(pk.c.state.in_([P.HANDED_OVER.value, P.IN_TRANSIT.value]),
                       # labelled long ago and never dock-scanned: did a driver take it anyway?
                       and_(pk.c.state == P.LABELLED.value,
                            pk.c.labelled_at < now - self.cutoff)),
                   or_(pk.c.last_tracking_at.is_(None), pk.c.last_tracking_at < stale))
            .order_by(pk.c.last_tracking_at.asc().nulls_first(), pk.c.id)
        ).all())  # fmt: skip
        by_account = {(c.provider, c.account.name): c for c in carriers}
        total = TrackingOutcome(0, 0, 0)
        for r in rows:
            carrier = by_account.get((r.provider, r.account))
            if carrier is None:
                log.warning("no configured account %s:%s to track %s", r.provider, r.account,
                            r.tracking_number)  # fmt: skip
                continue
            try:
                events = carrier.track(r.tracking_number, carrier=r.carrier, timeout_s=timeout_s)
            except CarrierError as exc:
                log.warning("tracking %s failed: %s", r.tracking_number, exc)
                continue
            out = self.record(events, source="poll")
            self.uow.write(partial(_heard, package_id=r.id, at=self.clock()))
            total = TrackingOutcome(total.recorded + out.recorded,
                                    total.duplicates + out.duplicates,
                                    total.unknown + out.unknown)  # fmt: skip
        return total

    def sweep(self) -> list[int]:
        """Open a custody exception for every package no carrier has scanned past the cut-off:
        handed over that long ago, or label-scanned that long ago and never handed over (the
        carton is lost in the building, or left without a dock scan). Once per package: the
        dedup key; a later carrier event closes it."""

        def work(conn: Connection) -> list[int]:
            now = self.clock()
            since = now - self.cutoff
            rows = conn.execute(
                select(pk.c.id, pk.c.tracking_number, pk.c.carrier, pk.c.state,
                       pk.c.handed_over_at, pk.c.labelled_at, pk.c.pickup_id, sh.c.order_id)
                .join(sh, sh.c.id == pk.c.shipment_id)
                .where(pk.c.custody_at.is_(None), or_(
                    and_(pk.c.state == P.HANDED_OVER.value, pk.c.handed_over_at < since),
                    and_(pk.c.state == P.LABELLED.value, pk.c.labelled_at < since)))
            ).all()  # fmt: skip
            ex = t.order_exception
            opened = []
            for r in rows:
                key = f"custody:{r.id}"
                if conn.execute(select(ex.c.id).where(ex.c.dedup_key == key)).first():
                    continue
                opened.append(order_records.open_exception(
                    conn, order_id=r.order_id, channel_id=None, kind="custody",
                    now=now, dedup_key=key, **_silence(r, now),
                ))  # fmt: skip
            return opened

        return self.uow.write(work)

    def run_once(self, carriers: Sequence[Carrier]) -> tuple[TrackingOutcome, list[int]]:
        """One pass of the custody loop: poll first, so a parcel the carrier does have is not
        reported missing just because its webhook got lost."""
        return self.poll(carriers), self.sweep()

    def _announce(self, order_id: int, state: str | None, change: str) -> None:
        if self.live is not None and state is not None:
            self.live.publish_order_changed(order_id=order_id, state=state, change=change)


def _silence(r: Any, now: datetime) -> dict[str, Any]:
    """What a custody exception says, by where the carton was last seen."""
    detail = {"package_id": r.id, "tracking_number": r.tracking_number, "pickup_id": r.pickup_id}
    if r.state == P.HANDED_OVER.value:
        hours = (now - r.handed_over_at).total_seconds() / 3600
        return {
            "reason": f"{r.carrier} has not scanned {r.tracking_number} {hours:.0f} h after "
                      f"handover (pickup {r.pickup_id})",
            "detail": {**detail, "handed_over_at": r.handed_over_at.isoformat()},
            "recommendation": "ask the carrier to trace the pickup; check the dock",
        }  # fmt: skip
    hours = (now - r.labelled_at).total_seconds() / 3600
    return {
        "reason": f"{r.tracking_number} was labelled {hours:.0f} h ago, never handed over and "
                  f"not scanned by {r.carrier}",
        "detail": {**detail, "labelled_at": r.labelled_at.isoformat()},
        "recommendation": "find the carton (bench, dock); hand it over or void its label",
    }  # fmt: skip


def _heard(conn: Connection, *, package_id: int, at: datetime) -> None:
    conn.execute(update(pk).where(pk.c.id == package_id).values(last_tracking_at=at))


def _pickup(conn: Connection, pickup_id: int) -> dict[str, Any]:
    r = conn.execute(select(pu).where(pu.c.id == pickup_id)).first()
    if r is None:
        raise NotFound(f"pickup {pickup_id} does not exist")
    out = dict(r._mapping)
    out["cartons"] = conn.execute(
        select(func.count()).select_from(pk).where(pk.c.pickup_id == pickup_id,
                                                   pk.c.state != P.VOIDED.value)
    ).scalar_one()  # fmt: skip
    return out


def _package_by_scan(conn: Connection, scanned: str) -> Any:
    rows = conn.execute(
        select(pk, sh.c.order_id).join(sh, sh.c.id == pk.c.shipment_id)
        .where(pk.c.tracking_number.in_(_candidates(scanned)))
        .order_by((pk.c.state == P.VOIDED.value).asc(), pk.c.id.desc())
    ).all()  # fmt: skip
    for r in rows:
        if tracking_matches(scanned=scanned, tracking_number=r.tracking_number):
            return r
    raise NotFound(f"{scanned.strip()[:40]!r} is not one of our labels: keep the carton back")


def _order_packages(conn: Connection, order_id: int) -> list[Any]:
    return list(conn.execute(
        select(pk).join(sh, sh.c.id == pk.c.shipment_id).where(sh.c.order_id == order_id)
        .order_by(pk.c.package_no, pk.c.id)
    ).all())  # fmt: skip


def _close_custody_exceptions(conn: Connection, package_id: int, key: str, now: datetime) -> None:
    ex = t.order_exception
    conn.execute(
        update(ex)
        .where(and_(ex.c.dedup_key == f"custody:{package_id}", ex.c.state == "open"))
        .values(state="resolved", resolution=f"carrier custody event {key}", resolved_at=now)
    )


def verify_webhook(
    carriers: Sequence[Carrier],
    *,
    provider: str,
    body: bytes,
    headers: Mapping[str, str],
    query_token: str = "",
) -> list[TrackingEvent]:
    """The events of a provider's tracking webhook, if one of our accounts with that provider
    signed it; InvalidSignature (401, nothing stored) otherwise. Several accounts per provider each
    have their own secret, so each is tried."""
    accounts = [c for c in carriers if c.provider == provider]
    if not accounts:
        raise NotFound(f"no {provider} account is configured")
    failures = []
    for carrier in accounts:
        # Shippo's other form: a secret `?token=` on the URL instead of an HMAC header.
        with_token = getattr(carrier, "parse_webhook_with_token", None)
        try:
            if query_token and with_token is not None:
                return list(with_token(body=body, token=query_token))
            return list(carrier.parse_webhook(body=body, headers=headers))
        except InvalidWebhook as exc:
            failures.append(f"{carrier.account.name}: {exc}")
    log.warning("refused a %s webhook: %s", provider, "; ".join(failures))
    raise InvalidSignature(f"the {provider} webhook is not signed by any of our accounts")
