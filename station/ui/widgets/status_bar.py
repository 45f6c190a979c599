"""Scanner / printer / server / queued / order, always on screen, each with a coloured dot."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from station.ui.view_models.status import Indicator, StatusSnapshot
from station.ui.widgets.theme import LIGHT_COLOURS, MEDIUM, big


class StatusBarWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        self.scanner, self.printer, self.server = QLabel(), QLabel(), QLabel()
        self.queued, self.order, self.operator = QLabel(), QLabel(), QLabel()
        for label in (self.scanner, self.printer, self.server, self.queued):
            label.setFont(big(MEDIUM))
            layout.addWidget(label)
        layout.addStretch(1)
        for label in (self.order, self.operator):
            label.setFont(big(MEDIUM))
            layout.addWidget(label)

    def show_status(self, snapshot: StatusSnapshot) -> None:
        _light(self.scanner, snapshot.scanner)
        _light(self.printer, snapshot.printer)
        _light(self.server, snapshot.server)
        queued = f"Queued: {snapshot.queued}"
        if snapshot.rejected:
            queued += f"  Refused: {snapshot.rejected} (call a supervisor)"
        self.queued.setText(queued)
        self.order.setText(f"Order {snapshot.order}" if snapshot.order else "")
        self.operator.setText(snapshot.operator)


def _light(label: QLabel, indicator: Indicator) -> None:
    colour = LIGHT_COLOURS[indicator.light.value]
    label.setText(f"\u25cf {indicator.words}")
    label.setStyleSheet(f"color: {colour};")
    label.setProperty("light", indicator.light.value)
