"""The mask-editing tool bar: tool, target stem, operation, amount, brush size and hardness.

A view of the editing settings only: it holds no edits and computes nothing.
The glue (``edit_glue``) reads its state when a stroke ends.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

from stemsplit.gui.common.flow_layout import FlowLayout
from stemsplit.gui.common.names import display_name

POINTER, BRUSH, RECTANGLE, LASSO = "pointer", "brush", "rectangle", "lasso"
# The lasso's key is not L: L already turns the loop on and off (the transport bar), and
# one key on two shortcuts of a window fires neither.
TOOLS = ((POINTER, "Pointer", "V", "Pan, zoom, seek and loop (V or Esc)"),
         (BRUSH, "Brush", "B", "Paint over the spectrogram (B)"),
         (RECTANGLE, "Rectangle", "R", "Drag a time x frequency rectangle (R)"),
         (LASSO, "Lasso", "D", "Draw a free-hand outline; its inside is edited (D)"))
TOOL_KEYS = {key: shortcut for key, _text, shortcut, _tip in TOOLS}
ASSIGN, REMOVE, SCALE = "assign", "remove", "scale"
OPERATIONS = ((ASSIGN, "Assign to"), (REMOVE, "Remove from"), (SCALE, "Scale share of"))


def _group() -> tuple[QWidget, QHBoxLayout]:
    """A row of controls that stays together when the tool bar wraps."""
    widget = QWidget()
    box = QHBoxLayout(widget)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(6)
    return widget, box


class EditToolBar(QWidget):
    """Signals:
        toolChanged(tool): POINTER, BRUSH, RECTANGLE or LASSO.
        settingsChanged(): target, operation, amount, size or hardness changed.
    """

    toolChanged = Signal(str)
    settingsChanged = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        # Groups wrap to a second row when the window is narrow (never an elided label).
        flow = FlowLayout(self, spacing=10)
        tools_group, tools_box = _group()
        self.buttons: dict[str, QToolButton] = {}
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        for key, text, _key, tip in TOOLS:
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setAccessibleName(f"{text} tool")
            self.group.addButton(button)
            self.buttons[key] = button
            tools_box.addWidget(button)
            button.toggled.connect(lambda on, k=key: on and self.toolChanged.emit(k))
        self.buttons[POINTER].setChecked(True)
        flow.addWidget(tools_group)
        self.operation = QComboBox()
        for key, text in OPERATIONS:
            self.operation.addItem(text, key)
        self.operation.setToolTip("What the tool does to the painted region")
        self.target = QComboBox()
        self.target.setToolTip("The stem the tool acts on")
        self.target.setMinimumWidth(110)
        self.amount = QSpinBox()
        self.amount.setRange(0, 400)
        self.amount.setValue(50)
        self.amount.setSuffix(" %")
        self.amount.setToolTip("Scale share: the stem keeps this much of its share (100 %: "
                               "unchanged, 0 %: all of it moves to the other stems)")
        self.size = QSpinBox()
        self.size.setRange(2, 400)
        self.size.setValue(40)
        self.size.setSuffix(" px")
        self.size.setToolTip("Brush diameter on screen")
        self.hardness = QSlider(Qt.Horizontal)
        self.hardness.setRange(0, 100)
        self.hardness.setValue(70)
        self.hardness.setFixedWidth(80)
        self.hardness.setToolTip("Hardness: 100 % a sharp edge, lower values feather it")
        self.action_group, action_box = _group()
        for widget in (self.operation, self.target, self.amount):
            action_box.addWidget(widget)
        self.brush_group, brush_box = _group()
        for label, widget in (("Size", self.size), ("Hardness", self.hardness)):
            caption = QLabel(label)
            caption.setObjectName("muted")
            caption.setBuddy(widget)
            brush_box.addWidget(caption)
            brush_box.addWidget(widget)
        flow.addWidget(self.action_group)
        flow.addWidget(self.brush_group)
        self.hint = QLabel("Separate the song to edit its masks.")
        self.hint.setToolTip("Once separated, brush, rectangle or lasso sound from one stem "
                             "into another")
        self.hint.setObjectName("muted")
        flow.addWidget(self.hint)
        self.operation.currentIndexChanged.connect(self._on_operation)
        for signal in (self.target.currentIndexChanged, self.amount.valueChanged,
                       self.size.valueChanged, self.hardness.valueChanged):
            signal.connect(lambda *_a: self.settingsChanged.emit())
        self._on_operation()

    # -- state ---------------------------------------------------------------------------

    @property
    def tool(self) -> str:
        return next((k for k, b in self.buttons.items() if b.isChecked()), POINTER)

    def set_tool(self, tool: str) -> None:
        if self.buttons[tool].isEnabled():
            self.buttons[tool].setChecked(True)

    def set_stems(self, names: list[str]) -> None:
        """The stems a tool can target; editing is off (Pointer only) without stems."""
        current = self.target.currentData()
        self.target.blockSignals(True)
        self.target.clear()
        for name in names:
            self.target.addItem(display_name(name), name)
        if current in names:
            self.target.setCurrentIndex(self.target.findData(current))
        self.target.blockSignals(False)
        self.set_enabled(bool(names))

    def set_target(self, name: str) -> None:
        index = self.target.findData(name)
        if index >= 0:
            self.target.setCurrentIndex(index)

    def set_enabled(self, enabled: bool) -> None:
        """Without stems there is nothing to edit: only the pointer remains."""
        if not enabled:
            self.buttons[POINTER].setChecked(True)
        for key, button in self.buttons.items():
            button.setEnabled(enabled or key == POINTER)
        for widget in (self.operation, self.target, self.amount, self.size, self.hardness):
            widget.setEnabled(enabled)
        # Without stems the target list would be empty: a sentence says what to do instead.
        self.action_group.setVisible(enabled)
        self.brush_group.setVisible(enabled)
        self.hint.setVisible(not enabled)
        if enabled:
            self._on_operation()

    def settings(self) -> dict:
        """The current operation, target, amount (0..4), size (px) and hardness (0..1)."""
        return {"operation": self.operation.currentData(), "stem": self.target.currentData() or "",
                "amount": self.amount.value() / 100, "size_px": self.size.value(),
                "hardness": self.hardness.value() / 100}

    def _on_operation(self, *_args) -> None:
        self.amount.setVisible(self.operation.currentData() == SCALE)
        self.settingsChanged.emit()
