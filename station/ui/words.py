"""Operator words for failures at the bench edge, in one place (style.md habit 8).

Short, concrete, and saying what to do next: read from a metre away, in gloves.
"""

from __future__ import annotations

from station.devices.print_queue import QueueEvent
from station.devices.printer import PrinterState
from station.devices.scanner import ScannerState, ScannerStatus
from station.sync.client import ServerRefused, ServerUnavailable

PRINTER_WORDS: dict[PrinterState, str] = {
    PrinterState.READY: "Printer ready",
    PrinterState.PAPER_OUT: "Printer: out of labels - load labels",
    PrinterState.HEAD_OPEN: "Printer: head open - close the head",
    PrinterState.PAUSED: "Printer: paused - press the feed/pause key",
    PrinterState.RIBBON_OUT: "Printer: out of ribbon",
    PrinterState.BUFFER_FULL: "Printer: busy, jobs waiting",
    PrinterState.OFFLINE: "Printer: not answering - check cable and power",
    PrinterState.FAULT: "Printer fault - call a supervisor",
}


def scanner_words(status: ScannerStatus) -> str:
    if status.state is ScannerState.CONNECTED:
        return "Scanner connected"
    if status.state is ScannerState.RECONNECTING:
        return "Scanner unplugged - reconnecting"
    if status.reason == "stopped":
        return "Scanner off"
    return "Scanner unplugged - check the cable"


def printer_words(event: QueueEvent) -> str:
    words = PRINTER_WORDS[event.printer_state]
    if event.printer_state is not PrinterState.READY and event.pending:
        return f"{words} ({event.pending} label(s) held)"
    return words


def server_words(*, online: bool, queued: int) -> str:
    if online:
        return "Online" if queued == 0 else f"Online - sending {queued}"
    return "Offline - work is kept" if queued == 0 else f"Offline - {queued} queued"


def gateway_failure(exc: BaseException, *, doing: str) -> str:
    if isinstance(exc, ServerUnavailable):
        return f"Server not reachable: cannot {doing} now. Try again in a moment"
    if isinstance(exc, ServerRefused):
        if exc.status == 401:
            return "Badge not recognised: ask a supervisor"
        if exc.status == 403:
            return f"Not allowed to {doing}: ask a supervisor"
        if exc.status == 409:
            return "Someone else took this order: choose another"
        return f"Server said no ({exc.detail})"
    return f"Could not {doing}: call a supervisor ({type(exc).__name__})"
