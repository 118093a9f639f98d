"""The stem list: each stem's colour and overlay switch, what the view shows, opacity."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from stemsplit.gui.common.names import display_name
from stemsplit.gui.spectrogram.view import MIX


class _StemRow(QWidget):
    """One stem's row: a swatch, the overlay's check box and the stem's name.

    The whole row (name included) starts a drag of the stem as a file (to a DAW);
    the check box keeps its own click, and a click on the name toggles it as a
    check box's label would.
    """

    dragged = Signal(str)

    def __init__(self, name: str, colour: str, checked: bool) -> None:
        super().__init__()
        self.name = name
        self._press = None
        self.setCursor(Qt.OpenHandCursor)
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 2, 0, 2)
        self.check = QCheckBox()
        self.check.setChecked(checked)
        self.check.setCursor(Qt.ArrowCursor)
        self.check.setToolTip(f"Show the {display_name(name)} mask over the spectrogram")
        self.check.setAccessibleName(f"Show {display_name(name)}")
        swatch = QLabel()
        swatch.setFixedSize(14, 14)
        swatch.setStyleSheet(f"background: {colour}; border-radius: 3px;")
        self.label = QLabel(display_name(name))
        grip = QLabel("⠿")  # a grip: this row can be dragged
        grip.setObjectName("muted")
        box.addWidget(self.check)
        box.addWidget(swatch)
        box.addWidget(self.label, 1)
        box.addWidget(grip)
        self.setMinimumHeight(self.sizeHint().height())  # a short window scrolls the panel

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._press = event.position() if event.button() == Qt.LeftButton else None
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._press is not None and (
                (event.position() - self._press).manhattanLength()
                >= QApplication.startDragDistance()):
            self._press = None
            self.dragged.emit(self.name)
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._press is not None and event.button() == Qt.LeftButton:
            self.check.toggle()  # a click, not a drag: the name works as the box's label
        self._press = None
        event.accept()


class StemList(QFrame):
    """View options for the spectrogram.

    Signals:
        overlayToggled(name, on), modeChanged(mode: "mix" or a stem name),
        opacityChanged(0..1), scaleChanged("log" | "linear"),
        stemDragged(name): the user started dragging a stem's row out of the window.
    """

    overlayToggled = Signal(str, bool)
    modeChanged = Signal(str)
    opacityChanged = Signal(float)
    scaleChanged = Signal(str)
    stemDragged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.setMinimumWidth(210)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 12)
        layout.setSpacing(8)
        title = QLabel("Stems")
        title.setObjectName("title")
        layout.addWidget(title)
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(4)
        layout.addLayout(self.rows_box)
        self.hint = QLabel("Separate the song to see its stems.")
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        self.rows_box.addWidget(self.hint)
        self.checks: dict[str, QCheckBox] = {}
        self.rows: dict[str, _StemRow] = {}

        layout.addSpacing(6)
        layout.addWidget(self._caption("Show"))
        self.mode = QComboBox()
        self.mode.setToolTip("The mixture with each stem's mask over it, or one stem alone")
        self.mode.addItem("Mixture + masks", MIX)
        self.mode.currentIndexChanged.connect(
            lambda _i: self.modeChanged.emit(self.mode.currentData()))
        layout.addWidget(self.mode)

        layout.addWidget(self._caption("Mask opacity"))
        self.opacity = QSlider(Qt.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(75)
        self.opacity.setToolTip("How strongly the stem colours cover the spectrogram")
        self.opacity.valueChanged.connect(lambda v: self.opacityChanged.emit(v / 100))
        layout.addWidget(self.opacity)

        layout.addWidget(self._caption("Frequency axis"))
        self.scale = QComboBox()
        self.scale.addItem("Logarithmic", "log")
        self.scale.addItem("Linear", "linear")
        self.scale.currentIndexChanged.connect(
            lambda _i: self.scaleChanged.emit(self.scale.currentData()))
        layout.addWidget(self.scale)
        layout.addStretch(1)

    @staticmethod
    def _caption(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("muted")
        return label

    def set_stems(self, names: list[str], colours: dict[str, str],
                  visible: dict[str, bool] | None = None) -> None:
        """One row per stem: a colour swatch and a checkbox for its overlay."""
        visible = visible or {}
        for row in self.rows.values():
            self.rows_box.removeWidget(row)
            row.deleteLater()
        self.checks, self.rows = {}, {}
        for name in names:
            row = _StemRow(name, colours[name], visible.get(name, True))
            row.setToolTip(f"Drag {display_name(name)} into your DAW or a folder "
                           "(after separation)")
            row.dragged.connect(self.stemDragged)
            row.check.toggled.connect(lambda on, n=name: self.overlayToggled.emit(n, on))
            self.rows_box.addWidget(row)
            self.checks[name], self.rows[name] = row.check, row
        self.hint.setVisible(not names)
        current = self.mode.currentData()
        self.mode.blockSignals(True)
        while self.mode.count() > 1:
            self.mode.removeItem(1)
        for name in names:
            self.mode.addItem(f"{display_name(name)} only", name)
        index = self.mode.findData(current)
        self.mode.setCurrentIndex(max(index, 0))
        self.mode.blockSignals(False)
        if index < 0 and current != MIX:
            self.modeChanged.emit(MIX)

    def set_scale(self, scale: str) -> None:
        self.scale.setCurrentIndex(max(self.scale.findData(scale), 0))

    def set_opacity(self, opacity: float) -> None:
        self.opacity.setValue(round(opacity * 100))
