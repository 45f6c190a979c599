"""Colours and type sizes for a screen read from a metre away, in a bright warehouse."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QListView, QListWidget

GREEN = "#1b7f3b"
RED = "#c62828"
AMBER = "#b26a00"
GREY = "#616161"
INK = "#111111"
PAPER = "#fafafa"

VERDICT_COLOURS = {"accepted": GREEN, "rejected": RED, "needs": AMBER}
LIGHT_COLOURS = {"ok": GREEN, "warn": AMBER, "bad": RED, "unknown": GREY}


def big(points: int, *, bold: bool = True) -> QFont:
    font = QFont()
    font.setPointSize(points)
    font.setBold(bold)
    return font


HUGE = 40  # the one instruction, the verdict words
LARGE = 28  # progress count, screen titles
MEDIUM = 18  # lists, status bar


def big_label(text: str, points: int, *, bold: bool = True) -> QLabel:
    """Centred, wrapping words in big type: how every screen talks to the floor."""
    label = QLabel(text)
    label.setFont(big(points, bold=bold))
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


def big_list() -> QListWidget:
    view = QListWidget()
    view.setFont(big(MEDIUM, bold=False))
    view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the window (Enter/Escape)
    # Long rows (exception reasons) wrap: nobody in gloves scrolls sideways.
    view.setWordWrap(True)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return view
