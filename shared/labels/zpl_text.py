"""Text inside a ZPL field, made safe: every label the system builds escapes the same way."""

from __future__ import annotations


def field(text: str) -> str:
    """For a field printed with ^FH and `_` as the escape: characters ZPL would read as commands
    (^ ~ _) and anything outside printable ASCII are sent as hex bytes (UTF-8, for ^CI28)."""
    out: list[str] = []
    for ch in text:
        if ch in "^~_" or not (32 <= ord(ch) < 127):
            out.extend(f"_{b:02X}" for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return "".join(out)
