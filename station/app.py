"""Composition root of the bench station (PySide6); the screens arrive with the station issue."""

from __future__ import annotations

import sys


def main() -> int:
    print(
        "packline-station: the bench app is not built yet; run `packline demo` for the server.",
        file=sys.stderr,
    )
    return 2
