"""What pick and pack sessions share: the event outbox, scan entry, and the supervisor-override
step (badge, then reason card), so both stages follow one override procedure."""

from __future__ import annotations

from shared.contract.orders import TaskOut
from station.work.events import Clock, Event, Head, OverrideRefused, Stage, head
from station.work.lines import LineBook, LineState
from station.work.scan import ScanContext, StationScan, read_text
from station.work.supervisor import Grant, OverrideFlow, Refusal
from station.work.verdict import Reason, Rejected, Verdict


class WorkSession:
    stage: Stage
    task: TaskOut
    _clock: Clock
    _book: LineBook
    _context: ScanContext
    _override: OverrideFlow
    _events: list[Event]

    def drain_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def scan_text(self, text: str, *, symbology_id: str | None = None) -> Verdict:
        return self.apply(read_text(text, symbology_id=symbology_id, context=self._context))

    def apply(self, scan: StationScan) -> Verdict:
        raise NotImplementedError

    def _head(self) -> Head:
        return head(self._clock, order_id=self.task.order_id, order_number=self.task.number)

    def _reject(self, raw: str, reason: Reason, words: str, *, line: int | None = None) -> Rejected:
        raise NotImplementedError

    def _granted(self, grant: Grant) -> Verdict:
        raise NotImplementedError

    def _override_line(self, line_no: int) -> LineState:
        state = self._book.lines.get(line_no)
        if state is None:
            raise ValueError(f"no line {line_no} on order {self.task.number}")
        return state

    @staticmethod
    def _override_units(state: LineState, units: int | None) -> int:
        """All open units unless told otherwise; a count outside them is a programming error."""
        count = state.remaining if units is None else units
        if not 1 <= count <= state.remaining:
            raise ValueError(f"override of {count} units, line has {state.remaining} open")
        return count

    def _override_step(self, scan: StationScan) -> Verdict:
        result = self._override.apply(scan)
        if isinstance(result, Refusal):
            self._events.append(
                OverrideRefused(
                    **self._head(), stage=self.stage, badge=result.badge, reason=result.reason
                )
            )
            return result.verdict
        if isinstance(result, Rejected):
            return self._reject(scan.raw, result.reason, result.words)
        if isinstance(result, Grant):
            return self._granted(result)
        return result
