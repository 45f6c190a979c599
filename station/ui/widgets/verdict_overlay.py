"""Full-screen green / red / amber verdict, over whatever screen is showing.

It clears by itself after a moment (longer for red: the reason must be read) or at the next
scan. It ignores the mouse so nothing underneath is ever blocked by it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from station.ui.widgets.theme import HUGE, VERDICT_COLOURS, big

HOLD_MS = {"accepted": 900, "needs": 2500, "rejected": 3500}


class VerdictOverlay(QWidget):
    def __init__(self, parent: QWidget, *, hold_ms: dict[str, int] | None = None) -> None:
        super().__init__(parent)
        self._host = parent
        self._hold_ms = dict(hold_ms or HOLD_MS)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setObjectName("verdictOverlay")
        self._label = QLabel(self)
        self._label.setFont(big(HUGE))
        self._label.setWordWrap(True)
        self._label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(self._label)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear)
        self._colour: str | None = None
        parent.installEventFilter(self)
        self.hide()

    @property
    def colour(self) -> str | None:
        return self._colour

    @property
    def words(self) -> str:
        return self._label.text()

    def show_verdict(self, kind: str, words: str) -> None:
        self._colour = VERDICT_COLOURS.get(kind, VERDICT_COLOURS["rejected"])
        self.setStyleSheet(
            f"#verdictOverlay {{ background: {self._colour}; }} QLabel {{ color: white; }}"
        )
        self._label.setText(words)
        self.setGeometry(self._host.rect())
        self.show()
        self.raise_()
        self._timer.start(self._hold_ms.get(kind, self._hold_ms["rejected"]))

    def clear(self) -> None:
        self._timer.stop()
        self._colour = None
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._host and event.type() == QEvent.Type.Resize:
            self.setGeometry(self._host.rect())
        return False
