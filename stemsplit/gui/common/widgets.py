"""Small pieces several widgets build the same way: timers, player observers, keys, markers."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


def start_timer(parent: QObject, interval_ms: int, slot: Callable[[], None]) -> QTimer:
    """A repeating timer owned by ``parent`` (stops when the parent goes)."""
    timer = QTimer(parent)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    timer.start()
    return timer


def observe_player(widget: QObject, player, listener: Callable[[], None]) -> None:
    """Call ``listener`` on every state change of ``player`` while ``widget`` lives."""
    player.add_listener(listener)
    # Remove the listener by value: the widget may already be gone on ``destroyed``.
    widget.destroyed.connect(lambda *_: player.remove_listener(listener))


def window_keys(window: QWidget, keys: list[tuple[int, Callable[[], None]]]) -> list[QShortcut]:
    """Single-key shortcuts active while ``window`` has focus."""
    shortcuts = []
    for key, slot in keys:
        sc = QShortcut(QKeySequence(key), window)
        sc.setContext(Qt.WindowShortcut)
        sc.activated.connect(slot)
        shortcuts.append(sc)
    return shortcuts


def time_region(plot, colour: str, alpha: int, z: float) -> pg.LinearRegionItem:
    """A hidden, draggable time span drawn in ``colour`` on ``plot``."""
    brush = QColor(colour)
    brush.setAlpha(alpha)
    hover = QColor(colour)
    hover.setAlpha(min(255, alpha + 25))
    region = pg.LinearRegionItem(values=(0, 1), brush=brush, pen=pg.mkPen(colour, width=1),
                                 hoverBrush=hover, hoverPen=pg.mkPen(colour, width=3))
    region.setZValue(z)
    region.hide()
    plot.addItem(region)
    return region


def playhead_line(plot, colour: str) -> pg.InfiniteLine:
    """A hidden vertical line above everything else on ``plot``."""
    line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colour, width=1))
    line.setZValue(20)
    line.hide()
    plot.addItem(line)
    return line
