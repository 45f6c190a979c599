"""Per-line counting and the unit rules pick and pack share (one place, one behaviour).

A unit is counted only when every rule passes; a case counts all its units or none.
The checks run in a fixed order so the picker hears the most useful reason first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from shared.contract.orders import TaskLineOut, TaskOut, TaskPickOut
from station.work.scan import ItemScan, ScanContext, normalise_alias
from station.work.verdict import Action, Needs, Reason, Rejected


@dataclass(frozen=True, kw_only=True)
class Alias:
    code: str
    units: int
    valid_to: datetime | None


@dataclass(frozen=True, kw_only=True)
class Match:
    line_no: int
    sku: str
    code: str
    units: int
    lot: str | None
    serial: str | None
    expiry: date | None
    # (index into the line's picks, units) so each allocated bin/lot is consumed exactly.
    takes: tuple[tuple[int, int], ...]


def parse_valid_to(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    # The server sends aware ISO times; a naive one is read as UTC [project convention].
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(kw_only=True)
class LineState:
    line: TaskLineOut
    aliases: dict[str, Alias]
    scanned: int = 0
    overridden: int = 0
    short: int = 0
    used: list[int] = field(default_factory=list)  # per pick
    scans: list[Match] = field(default_factory=list)  # accepted scans, in order

    @property
    def remaining(self) -> int:
        return self.line.qty - self.scanned - self.overridden - self.short


def _words_lot(picks: list[TaskPickOut]) -> str:
    lots = sorted({f"{p.lot} ({p.location})" for p in picks if p.lot})
    return ", ".join(lots) if lots else "the allocated lot"


class LineBook:
    def __init__(self, task: TaskOut, *, by_bin: bool) -> None:
        self._by_bin = by_bin
        self.lines: dict[int, LineState] = {}
        for line in task.lines:
            aliases: dict[str, Alias] = {}
            for barcode in line.barcodes:
                if barcode.units < 1:
                    raise ValueError(f"line {line.line_no}: barcode {barcode.value} counts 0")
                code = normalise_alias(barcode.value)
                valid_to = parse_valid_to(barcode.valid_to) if barcode.valid_to else None
                aliases[code] = Alias(code=code, units=barcode.units, valid_to=valid_to)
            self.lines[line.line_no] = LineState(
                line=line, aliases=aliases, used=[0] * len(line.picks)
            )
        self.serials: set[tuple[str, str]] = set()

    def context(self, *, tracking: frozenset[str] = frozenset()) -> ScanContext:
        aliases = {code for s in self.lines.values() for code in s.aliases}
        locations = {p.location for s in self.lines.values() for p in s.line.picks}
        return ScanContext(
            aliases=frozenset(aliases), locations=frozenset(locations), tracking_numbers=tracking
        )

    @property
    def remaining(self) -> int:
        return sum(max(s.remaining, 0) for s in self.lines.values())

    @property
    def complete(self) -> bool:
        return all(s.remaining == 0 for s in self.lines.values())

    def lines_at(self, location: str) -> list[int]:
        return [
            n for n, s in self.lines.items() if any(p.location == location for p in s.line.picks)
        ]

    def check(
        self, scan: ItemScan, *, now: datetime, today: date, location: str | None
    ) -> Match | Rejected | Needs:
        candidates = [s for s in self.lines.values() if scan.code in s.aliases]
        if not candidates:
            return Rejected(
                reason=Reason.WRONG_ITEM, words=f"Not on this order ({scan.code}): put it back"
            )
        # Same SKU on two lines: try the open ones first, report the first line's problem.
        candidates.sort(key=lambda s: s.remaining <= 0)
        first: Rejected | Needs | None = None
        for state in candidates:
            result = self._check_line(state, scan, now=now, today=today, location=location)
            if isinstance(result, Match):
                return result
            first = first or result
        assert first is not None
        return first

    def commit(self, match: Match) -> None:
        state = self.lines[match.line_no]
        state.scanned += match.units
        state.scans.append(match)
        for index, units in match.takes:
            state.used[index] += units
        if match.serial is not None:
            self.serials.add((match.sku, match.serial))

    def _check_line(
        self, state: LineState, scan: ItemScan, *, now: datetime, today: date, location: str | None
    ) -> Match | Rejected | Needs:
        line, alias, n = state.line, state.aliases[scan.code], state.line.line_no

        def no(reason: Reason, words: str) -> Rejected:
            return Rejected(reason=reason, words=words, line=n)

        if alias.valid_to is not None and now >= alias.valid_to:
            return no(
                Reason.OUT_OF_WINDOW,
                f"This barcode was retired on {alias.valid_to.date().isoformat()}: "
                "call a supervisor to relabel",
            )
        units = alias.units
        if scan.count is not None:
            if scan.count < 1 or (alias.units > 1 and scan.count != alias.units):
                return no(
                    Reason.COUNT_MISMATCH,
                    f"Label says {scan.count} units, catalog says {alias.units}: set it aside",
                )
            units = scan.count
        if scan.serial is not None and (line.sku, scan.serial) in self.serials:
            return no(Reason.DUPLICATE_SERIAL, f"Serial {scan.serial} was already scanned")
        if line.track_serial and (units != 1 or scan.serial is None):
            return no(Reason.MISSING_SERIAL, "Scan each unit's own serial-number barcode")
        if line.track_lot and scan.lot is None:
            return no(Reason.MISSING_LOT, "Scan the barcode that shows the lot number")
        if scan.expiry is not None and scan.expiry < today:
            return no(Reason.EXPIRED, f"Expired on {scan.expiry.isoformat()}: set it aside")
        if state.remaining <= 0:
            return no(Reason.EXTRA_UNIT, f"{line.sku} is complete: this one is extra, put it back")
        if units > state.remaining:
            return no(
                Reason.EXTRA_UNIT,
                f"This case holds {units} but only {state.remaining} are needed: scan single units",
            )
        found = self._take(state, scan, units=units, location=location)
        if not isinstance(found, tuple):
            return found
        expiry = scan.expiry
        if expiry is None and line.track_expiry:
            # No AI 17 on this barcode: the allocated stock row's expiry stands in for it.
            dated = [line.picks[i].expiry for i, _ in found if line.picks[i].expiry is not None]
            if not dated:
                return no(Reason.MISSING_EXPIRY, "Scan the barcode that shows the expiry date")
            expiry = min(d for d in dated if d is not None)
            if expiry < today:
                return no(Reason.EXPIRED, f"Expired on {expiry.isoformat()}: set it aside")
        return Match(
            line_no=n,
            sku=line.sku,
            code=scan.code,
            units=units,
            lot=scan.lot,
            serial=scan.serial,
            expiry=expiry,
            takes=found,
        )

    def _take(
        self, state: LineState, scan: ItemScan, *, units: int, location: str | None
    ) -> tuple[tuple[int, int], ...] | Rejected | Needs:
        line = state.line
        by_lot = line.track_lot and any(p.lot for p in line.picks)
        by_bin = self._by_bin and bool(line.picks)
        if not (by_lot or by_bin):
            return ()
        if by_bin and location is None:
            bins = ", ".join(sorted({p.location for p in line.picks}))
            return Needs(action=Action.SCAN_BIN, words=f"Scan the bin first: {bins}")
        picks = list(enumerate(line.picks))
        if by_bin:
            picks = [(i, p) for i, p in picks if p.location == location]
            if not picks:
                return Rejected(
                    reason=Reason.WRONG_BIN,
                    words=f"{line.sku} is not picked from {location}: scan its bin",
                    line=line.line_no,
                )
        if by_lot:
            picks = [(i, p) for i, p in picks if p.lot == scan.lot]
            if not picks:
                return Rejected(
                    reason=Reason.WRONG_LOT,
                    words=f"Lot {scan.lot} is not the one to pick: take {_words_lot(line.picks)}",
                    line=line.line_no,
                )
        takes: list[tuple[int, int]] = []
        need = units
        for index, pick in picks:
            free = pick.qty - state.used[index]
            if free > 0 and need > 0:
                takes.append((index, min(free, need)))
                need -= min(free, need)
        if need > 0:
            reason = Reason.WRONG_LOT if by_lot else Reason.WRONG_BIN
            return Rejected(
                reason=reason,
                words=f"All allocated units from here are scanned: take {_words_lot(line.picks)}"
                if by_lot
                else "All allocated units from this bin are scanned: go to the next bin",
                line=line.line_no,
            )
        return tuple(takes)

    def override(self, *, line_no: int, units: int) -> None:
        self.lines[line_no].overridden += units

    def mark_short(self, *, line_no: int) -> int:
        state = self.lines[line_no]
        short = max(state.remaining, 0)
        state.short += short
        return short


@dataclass(frozen=True, kw_only=True)
class LineProgress:
    line_no: int
    sku: str
    name: str
    ordered: int
    scanned: int
    overridden: int
    short: int
    remaining: int


def progress(book: LineBook) -> tuple[LineProgress, ...]:
    return tuple(
        LineProgress(
            line_no=n,
            sku=s.line.sku,
            name=s.line.name,
            ordered=s.line.qty,
            scanned=s.scanned,
            overridden=s.overridden,
            short=s.short,
            remaining=s.remaining,
        )
        for n, s in book.lines.items()
    )
