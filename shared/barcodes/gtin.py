"""GTIN check digits and normalisation (GS1 General Specifications §7.9.1).

The catalog stores every GTIN as 14 digits; these helpers are the single rule for
"is this a GTIN" on both the server and the bench.
"""

from __future__ import annotations

GTIN_LENGTHS: frozenset[int] = frozenset({8, 12, 13, 14})

_ASCII_DIGITS = frozenset("0123456789")


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit()/isdecimal() accept Arabic-Indic and other Unicode digits, which
    # int() then happily converts; a scanner never sends those, so they are not a GTIN.
    return bool(text) and all(char in _ASCII_DIGITS for char in text)


def gtin_check_digit(body: str) -> int:
    """Check digit for the digits of a GTIN (or SSCC/GLN) without its last digit."""
    if not _is_ascii_digits(body):
        raise ValueError(f"check digit needs ASCII digits only, got {body!r}")
    total = 0
    # Weights 3, 1, 3, 1, ... from the rightmost body digit.
    for position, char in enumerate(reversed(body)):
        total += int(char) * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_gtin(text: str) -> bool:
    if len(text) not in GTIN_LENGTHS or not _is_ascii_digits(text):
        return False
    return gtin_check_digit(text[:-1]) == int(text[-1])


def gtin_problem(text: str) -> str | None:
    """Why `text` is not a GTIN, in words a picker can read; None if it is one."""
    if not _is_ascii_digits(text):
        return "a GTIN has digits only"
    if len(text) not in GTIN_LENGTHS:
        return f"a GTIN has 8, 12, 13 or 14 digits, not {len(text)}"
    expected = gtin_check_digit(text[:-1])
    if expected != int(text[-1]):
        return f"check digit wrong: GTIN-{len(text)} {text} should end in {expected}"
    return None


def to_gtin14(text: str) -> str:
    problem = gtin_problem(text)
    if problem is not None:
        raise ValueError(f"not a valid GTIN {text!r}: {problem}")
    return text.zfill(14)
