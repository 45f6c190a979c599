"""The label printer seen by the rest of the station: one small Protocol, its status value and
the errors a print can end in. Qt-free, so the print queue and the pure tests share it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Protocol


class PrinterState(StrEnum):
    READY = "ready"
    PAPER_OUT = "paper_out"
    HEAD_OPEN = "head_open"
    PAUSED = "paused"
    RIBBON_OUT = "ribbon_out"
    BUFFER_FULL = "buffer_full"
    OFFLINE = "offline"
    FAULT = "fault"


@dataclass(frozen=True, kw_only=True)
class PrinterStatus:
    paper_out: bool = False
    paused: bool = False
    head_open: bool = False
    ribbon_out: bool = False
    buffer_full: bool = False
    under_temperature: bool = False
    over_temperature: bool = False
    corrupt_ram: bool = False
    partial_format_in_progress: bool = False
    formats_in_buffer: int = 0
    labels_remaining_in_batch: int = 0
    label_length_dots: int = 0
    # Free text from a transport that knows more than flags (e.g. the CUPS queue's reason line).
    detail: str = ""

    @property
    def state(self) -> PrinterState:
        # Order = what the operator must fix first: a head that is open hides everything else.
        if self.head_open:
            return PrinterState.HEAD_OPEN
        if self.paper_out:
            return PrinterState.PAPER_OUT
        if self.ribbon_out:
            return PrinterState.RIBBON_OUT
        if self.paused:
            return PrinterState.PAUSED
        if self.buffer_full:
            return PrinterState.BUFFER_FULL
        if self.under_temperature or self.over_temperature or self.corrupt_ram:
            return PrinterState.FAULT
        return PrinterState.READY

    @property
    def ready(self) -> bool:
        return self.state is PrinterState.READY


class PrinterError(Exception):
    """A print or status query that did not succeed. `delivered` is True when the job's bytes
    reached the printer before the fault was seen: the printer keeps such a job in its own
    buffer and prints it once the fault is cleared, so it must not be sent a second time."""

    state: ClassVar[PrinterState] = PrinterState.FAULT
    operator_message: ClassVar[str] = "The label printer reports a fault."

    def __init__(self, detail: str = "", *, delivered: bool = False) -> None:
        super().__init__(detail or self.operator_message)
        self.detail = detail or self.operator_message
        self.delivered = delivered


class PrinterOffline(PrinterError):
    state = PrinterState.OFFLINE
    operator_message = "The label printer does not answer (cable, power or network)."


class PaperOut(PrinterError):
    state = PrinterState.PAPER_OUT
    operator_message = "The label printer is out of labels."


class HeadOpen(PrinterError):
    state = PrinterState.HEAD_OPEN
    operator_message = "The label printer's head is open."


class Paused(PrinterError):
    state = PrinterState.PAUSED
    operator_message = "The label printer is paused."


class RibbonOut(PrinterError):
    state = PrinterState.RIBBON_OUT
    operator_message = "The label printer is out of ribbon."


class BufferFull(PrinterError):
    state = PrinterState.BUFFER_FULL
    operator_message = "The label printer's receive buffer is full."


class MalformedStatus(PrinterError):
    """The printer answered, but not in the format we know: treated as a fault, never as ready."""

    operator_message = "The label printer sent an answer that could not be read."


_ERROR_FOR_STATE: dict[PrinterState, type[PrinterError]] = {
    PrinterState.HEAD_OPEN: HeadOpen,
    PrinterState.PAPER_OUT: PaperOut,
    PrinterState.RIBBON_OUT: RibbonOut,
    PrinterState.PAUSED: Paused,
    PrinterState.BUFFER_FULL: BufferFull,
    PrinterState.OFFLINE: PrinterOffline,
    PrinterState.FAULT: PrinterError,
}


def raise_for_status(status: PrinterStatus, *, delivered: bool = False) -> None:
    state = status.state
    if state is PrinterState.READY:
        return
    raise _ERROR_FOR_STATE[state](status.detail, delivered=delivered)


class LabelPrinter(Protocol):
    """Blocking calls: run them on a device thread (the print queue's), never on the GUI thread."""

    def status(self) -> PrinterStatus:
        """Raises PrinterOffline when the printer cannot be reached or stays silent."""
        ...

    def send(self, zpl: bytes) -> None:
        """Raises a PrinterError when the printer cannot take the job now."""
        ...
