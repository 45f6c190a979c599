"""Configure a Honeywell scanner over its serial link with documented menu commands.

Frame (hardware.md §1.3, S5-S7, S11): SYN M CR, then TAG(3) SUB(3) DATA, `,` for another
subtag of the same tag, `;` for another tag, ended by `!` (volatile: RAM only, preferred for
settings re-applied at every connect since flash write cycles are limited) or `.` (stored).
The scanner echoes the command with a status byte before each punctuation mark:
ACK (accepted), ENQ (unknown tag/subtag), NAK (value out of range). Queries put `?`
(current), `^` (default) or `*` (range) where the data goes and get the value back.
Cordless bases address a scanner by `:name:` after the prefix (`:*:` = all).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from station.devices.profiles import ConfigDialect, ScannerProfile

MENU_PREFIX = b"\x16M\r"
ACK, ENQ, NAK = b"\x06", b"\x05", b"\x15"
_PUNCTUATION = b",;.!"
_FORBIDDEN_IN_COMMAND = set(",;.!?^*")


class Store(enum.Enum):
    VOLATILE = "!"
    NON_VOLATILE = "."


class Reply(enum.Enum):
    ACK = "accepted"
    ENQ = "unknown tag or subtag"
    NAK = "value out of range"


_STATUS = {ACK[0]: Reply.ACK, ENQ[0]: Reply.ENQ, NAK[0]: Reply.NAK}


@dataclass(frozen=True, slots=True)
class CommandResult:
    command: str
    echoed: str
    reply: Reply


class HoneywellConfigError(RuntimeError):
    pass


class SerialLink(Protocol):
    # The subset of serial.Serial used here, so tests and the driver share the code path.
    def write(self, data: bytes, /) -> int | None: ...

    def read(self, size: int = 1, /) -> bytes: ...

    @property
    def in_waiting(self) -> int: ...


def build_menu_command(
    *, commands: Sequence[str], store: Store = Store.VOLATILE, device: str | None = None
) -> bytes:
    if not commands:
        raise ValueError("no menu commands given")
    for command in commands:
        _check_command(command, query_ok=True)
    address = f":{device}:" if device else ""
    body = address + ";".join(commands) + store.value
    return MENU_PREFIX + body.encode("ascii")


def _check_command(command: str, *, query_ok: bool) -> None:
    head, body = command[:6], command[6:]
    if len(head) != 6 or not head.isascii() or not head.isalnum():
        raise ValueError(f"menu command {command!r} must start with a 3+3 character tag/subtag")
    allowed = _FORBIDDEN_IN_COMMAND - (set("?^*") if query_ok else set())
    bad = [c for c in body if c in allowed or not (c.isascii() and c.isprintable())]
    if bad:
        raise ValueError(f"menu command {command!r} contains {bad[0]!r}")


def reply_complete(data: bytes | bytearray) -> bool:
    # The last command's status byte is followed by the closing `.` or `!`.
    return len(data) >= 2 and data[-1:] in (b".", b"!") and data[-2] in _STATUS


def parse_menu_reply(data: bytes) -> list[tuple[str, Reply]]:
    body = data.removeprefix(MENU_PREFIX)
    if body.startswith(b":"):
        end = body.find(b":", 1)
        body = body[end + 1 :] if end > 0 else body
    results: list[tuple[str, Reply]] = []
    text = bytearray()
    index = 0
    while index < len(body):
        byte = body[index]
        if byte in _STATUS:
            after = body[index + 1 : index + 2]
            if not after or after not in [bytes([p]) for p in _PUNCTUATION]:
                raise HoneywellConfigError(f"malformed reply {data!r}: status not before , ; . !")
            results.append((text.decode("ascii", "replace"), _STATUS[byte]))
            text.clear()
            index += 2
            if after in (b".", b"!"):
                break
            continue
        text.append(byte)
        index += 1
    if not results:
        raise HoneywellConfigError(f"no ACK/ENQ/NAK in reply {data!r}")
    return results


def exchange(
    link: SerialLink,
    *,
    commands: Sequence[str],
    store: Store = Store.VOLATILE,
    device: str | None = None,
    timeout_s: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
) -> list[CommandResult]:
    link.write(build_menu_command(commands=commands, store=store, device=device))
    received = bytearray()
    deadline = clock() + timeout_s
    while not reply_complete(received):
        if clock() > deadline:
            raise HoneywellConfigError(
                f"no complete reply within {timeout_s} s (got {bytes(received)!r}); "
                "is the scanner in a bidirectional serial mode?"
            )
        # read() honours the port timeout, so this loop wakes to check the deadline.
        received += link.read(link.in_waiting or 1)
    replies = parse_menu_reply(bytes(received))
    if len(replies) != len(commands):
        raise HoneywellConfigError(
            f"sent {len(commands)} commands, reply has {len(replies)}: {bytes(received)!r}"
        )
    return [
        CommandResult(command=c, echoed=echo, reply=reply)
        for c, (echo, reply) in zip(commands, replies, strict=True)
    ]


def apply(
    link: SerialLink,
    *,
    commands: Sequence[str],
    store: Store = Store.VOLATILE,
    device: str | None = None,
    timeout_s: float = 2.0,
) -> list[CommandResult]:
    for command in commands:
        _check_command(command, query_ok=False)
    results = exchange(link, commands=commands, store=store, device=device, timeout_s=timeout_s)
    refused = [r for r in results if r.reply is not Reply.ACK]
    if refused:
        detail = "; ".join(f"{r.command}: {r.reply.value}" for r in refused)
        raise HoneywellConfigError(f"scanner refused {detail}")
    return results


def query(link: SerialLink, *, setting: str, which: str = "?", timeout_s: float = 2.0) -> str:
    """Current (`?`), default (`^`) or range (`*`) value of one 6-character tag/subtag."""
    if which not in ("?", "^", "*"):
        raise ValueError("which must be '?', '^' or '*'")
    (result,) = exchange(link, commands=[setting + which], timeout_s=timeout_s)
    if result.reply is not Reply.ACK:
        raise HoneywellConfigError(f"{setting}{which}: {result.reply.value}")
    if not result.echoed.startswith(setting):
        raise HoneywellConfigError(f"{setting}{which}: unexpected echo {result.echoed!r}")
    return result.echoed[len(setting) :]


def configure_on_connect(profile: ScannerProfile) -> Callable[[SerialLink], None] | None:
    """The SerialScanner `configure` hook for a Honeywell profile: re-apply its commands
    volatile after every (re)connect, since a power-cycled scanner may have lost them."""
    config = profile.config
    if config is None or config.dialect is not ConfigDialect.HONEYWELL_MENU or not config.apply:
        return None
    commands = list(config.apply)

    def configure(link: SerialLink) -> None:
        apply(link, commands=commands, store=Store.VOLATILE)

    return configure
