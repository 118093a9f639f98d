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
    """One stem's row; dragging it out asks for the stem as a file (to a DAW)."""

    dragged = Signal(str)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self._press = None

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._press = event.position() if event.button() == Qt.LeftButton else None
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._press is not None and (
                (event.position() - self._press).manhattanLength()
                >= QApplication.startDragDistance()):
            self._press = None
            self.dragged.emit(self.name)
        super().mouseMoveEvent(event)


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
        for check in self.checks.values():
            self.rows_box.removeWidget(check.parentWidget())
            check.parentWidget().deleteLater()
        self.checks = {}
        for name in names:
            row = _StemRow(name)
            row.setToolTip(f"Drag {name} into your DAW or a folder (after separation)")
            row.dragged.connect(self.stemDragged)
            box = QHBoxLayout(row)
            box.setContentsMargins(0, 0, 0, 0)
            swatch = QLabel()
            swatch.setFixedSize(14, 14)
            swatch.setStyleSheet(f"background: {colours[name]}; border-radius: 3px;")
            check = QCheckBox(display_name(name))
            check.setChecked(visible.get(name, True))
            check.setToolTip(f"Show the {name} mask over the spectrogram")
            check.toggled.connect(lambda on, n=name: self.overlayToggled.emit(n, on))
            box.addWidget(swatch)
            box.addWidget(check, 1)
            self.rows_box.addWidget(row)
            self.checks[name] = check
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
