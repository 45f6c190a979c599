"""A row of big buttons, each with an F-key that works while its screen has the focus (so two
screens may use the same keys without stealing each other's). Buttons never take the focus:
Enter and Escape stay with the window, and scans with the scanner."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from station.ui.widgets.theme import MEDIUM, big


def key_button_row(
    screen: QWidget,
    buttons: Mapping[str, QPushButton],
    keys: Mapping[str, Qt.Key],
    act: Callable[[str], None],
) -> QHBoxLayout:
    row = QHBoxLayout()
    for name, button in buttons.items():
        button.setFont(big(MEDIUM))
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(lambda _=False, n=name: act(n))
        row.addWidget(button)
        shortcut = QShortcut(QKeySequence(keys[name]), screen)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(lambda n=name: act(n))
    return row
