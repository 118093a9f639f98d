"""The mixer: one strip per stem (name, solo, mute, gain fader, level meter).

Before separation there is a single strip for the original mix (fader and
meter only). The panel observes the :class:`~stemsplit.playback.Player`: it
rebuilds its strips when the player's sources change and mirrors solo / mute
/ gain changes made elsewhere (keyboard shortcuts). Levels are polled.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from stemsplit.gui.common import theme
from stemsplit.gui.common.names import display_name
from stemsplit.gui.common.widgets import observe_player, start_timer, window_keys
from stemsplit.playback import MIN_DB, MIX, Player

MAX_DB = 12.0
STEPS_PER_DB = 10  # the slider counts tenths of a dB
METER_MS = 40
METER_FLOOR_DB = -60.0
METER_FALL_DB = 1.2  # per tick: ~30 dB/s, the usual peak-meter fall


def db_text(db: float) -> str:
    return "−∞ dB" if db <= MIN_DB else f"{db:+.1f} dB"


class GainSlider(QSlider):
    """A horizontal dB fader; double-click puts it back to 0 dB."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Horizontal, parent)
        self.setRange(int(MIN_DB * STEPS_PER_DB), int(MAX_DB * STEPS_PER_DB))
        self.setSingleStep(5)
        self.setPageStep(30)
        self.setValue(0)
        self.setToolTip("Gain (double-click: 0 dB)")

    def db(self) -> float:
        return self.value() / STEPS_PER_DB

    def set_db(self, db: float) -> None:
        self.setValue(round(db * STEPS_PER_DB))

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.setValue(0)
        event.accept()


class LevelMeter(QWidget):
    """A horizontal peak meter in dB with a falling bar."""

    def __init__(self, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colour = QColor(colour)
        self.db = METER_FLOOR_DB
        self.setFixedHeight(6)

    def set_peak(self, peak: float) -> None:
        db = 20 * math.log10(peak) if peak > 1e-6 else METER_FLOOR_DB
        new = max(db, self.db - METER_FALL_DB, METER_FLOOR_DB)
        if new != self.db:
            self.db = new
            self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.RAISED))
        frac = (self.db - METER_FLOOR_DB) / (0.0 - METER_FLOOR_DB)
        if frac > 0:
            w = self.width() * min(frac, 1.0)
            p.fillRect(QRectF(0, 0, w, self.height()),
                       QColor(theme.ERROR) if self.db > 0.0 else self.colour)
        p.end()


class _Strip(QFrame):
    """One source's controls; the panel connects them to the player."""

    clicked = Signal(str)

    def __init__(self, name: str, title: str, colour: str, with_solo_mute: bool) -> None:
        super().__init__()
        self.name = name
        self.colour = colour
        self.setObjectName("panel")
        self.label = QLabel(f"● {title}")
        self.audible = True
        self.set_audible(True)
        self.solo = self._toggle("S", f"Solo {title} (S)", "solo")
        self.mute = self._toggle("M", f"Mute {title} (M)", "mute")
        self.solo.setVisible(with_solo_mute)
        self.mute.setVisible(with_solo_mute)
        self.slider = GainSlider()
        self.gain_label = QLabel(db_text(0.0))
        self.gain_label.setObjectName("muted")
        self.gain_label.setMinimumWidth(58)
        self.meter = LevelMeter(colour)
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        grid.setSpacing(4)
        grid.addWidget(self.label, 0, 0)
        grid.addWidget(self.solo, 0, 1)
        grid.addWidget(self.mute, 0, 2)
        grid.addWidget(self.slider, 1, 0, 1, 2)
        grid.addWidget(self.gain_label, 1, 2)
        grid.addWidget(self.meter, 2, 0, 1, 3)
        grid.setColumnStretch(0, 1)

    @staticmethod
    def _toggle(text: str, tip: str, role: str) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(role)  # the theme colours a checked solo yellow, a mute red
        b.setCheckable(True)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.NoFocus)
        return b

    def set_audible(self, on: bool) -> None:
        """A strip that cannot be heard (others soloed, muted) shows its name dimmed."""
        self.audible = on
        colour = self.colour if on else theme.MUTED
        self.label.setStyleSheet(f"color: {colour}; font-weight: 600;")

    def set_current(self, on: bool) -> None:
        self.setStyleSheet(f"QFrame#panel {{ border-color: {theme.ACCENT}; }}" if on else "")

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.clicked.emit(self.name)
        super().mousePressEvent(event)


class MixerPanel(QFrame):
    """Strips for the player's sources.

    Args:
        player: what the strips control.
        colours: stem name -> ``"#rrggbb"``; unknown stems get the theme's colours.
    """

    def __init__(self, player: Player, colours: dict[str, str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.colours = dict(colours or {})
        self.strips: dict[str, _Strip] = {}
        self.current: str | None = None
        self._names: tuple[str, ...] | None = None
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(6)
        self.meter_timer = start_timer(self, METER_MS, self._update_meters)
        observe_player(self, player, self.sync)
        self.sync()

    def set_colours(self, colours: dict[str, str]) -> None:
        self.colours = dict(colours)
        self._names = None  # rebuild with the new colours
        self.sync()

    # -- keeping up with the player ----------------------------------------------------

    def sync(self) -> None:
        """Show the player's state; rebuild the strips when its sources changed."""
        names = self.player.names
        if names != self._names:
            self._rebuild(names)
        for name, strip in self.strips.items():
            for widget, value in ((strip.solo, self.player.is_solo(name)),
                                  (strip.mute, self.player.is_muted(name))):
                if widget.isChecked() != value:
                    widget.blockSignals(True)
                    widget.setChecked(value)
                    widget.blockSignals(False)
            db = self.player.gain_db(name)
            if abs(strip.slider.db() - db) > 0.05:
                strip.slider.blockSignals(True)
                strip.slider.set_db(db)
                strip.slider.blockSignals(False)
            strip.gain_label.setText(db_text(db))
            audible = self.player.is_audible(name)
            if audible != strip.audible:
                strip.set_audible(audible)

    def _rebuild(self, names: tuple[str, ...]) -> None:
        for strip in self.strips.values():
            self._box.removeWidget(strip)
            strip.deleteLater()
        self.strips = {}
        self._names = names
        mixture_only = names == (MIX,)
        for i, name in enumerate(names):
            title = "Original mix" if mixture_only else display_name(name)
            colour = theme.TEXT if mixture_only else self.colours.get(
                name, theme.stem_colour(name, i))
            strip = _Strip(name, title, colour, with_solo_mute=not mixture_only)
            strip.solo.toggled.connect(lambda on, n=name: self.player.set_solo(n, on))
            strip.mute.toggled.connect(lambda on, n=name: self.player.set_mute(n, on))
            strip.slider.valueChanged.connect(
                lambda _v, n=name, s=strip.slider: self.player.set_gain_db(n, s.db()))
            strip.clicked.connect(self.set_current)
            self._box.addWidget(strip)
            self.strips[name] = strip
        first = names[0] if names and not mixture_only else None
        self.set_current(self.current if self.current in self.strips else first)

    def _update_meters(self) -> None:
        for name, peak in self.player.levels().items():
            strip = self.strips.get(name)
            if strip is not None:
                strip.meter.set_peak(peak)

    # -- keyboard ----------------------------------------------------------------------

    def set_current(self, name: str | None) -> None:
        """Choose the strip that S and M act on."""
        self.current = name if name in self.strips else None
        for n, strip in self.strips.items():
            strip.set_current(n == self.current)

    def toggle_solo_current(self) -> None:
        if self.current is not None and self.player.has_stems:
            self.player.set_solo(self.current, not self.player.is_solo(self.current))

    def toggle_mute_current(self) -> None:
        if self.current is not None and self.player.has_stems:
            self.player.set_mute(self.current, not self.player.is_muted(self.current))

    def select_next(self, step: int = 1) -> None:
        """Move the S / M target to the next (or previous) strip."""
        names = list(self.strips)
        if names and self.player.has_stems:
            i = names.index(self.current) if self.current in names else -step
            self.set_current(names[(i + step) % len(names)])

    def install_shortcuts(self, window: QWidget) -> list[QShortcut]:
        """S / M (solo / mute the current strip) and Tab-free strip choice with [ and ]."""
        return window_keys(window, [
            (Qt.Key_S, self.toggle_solo_current), (Qt.Key_M, self.toggle_mute_current),
            (Qt.Key_BracketRight, lambda: self.select_next(1)),
            (Qt.Key_BracketLeft, lambda: self.select_next(-1))])
