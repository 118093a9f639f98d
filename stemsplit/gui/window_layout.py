"""How the main window's widgets are arranged: run bar, spectrogram with its overview,
side panel, transport.

The window creates the widgets; this places them (and keeps the overview's ruler
under the spectrogram's by giving both rows the same gutters).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from stemsplit.gui.spectrogram.view import FREQ_AXIS_PX


def build(window) -> None:
    """Lay out ``window``'s widgets; sets its ``plot_box``, ``stack``, ``side``,
    ``side_scroll`` and ``splitter``."""
    plots = QWidget()
    plot_box = QVBoxLayout(plots)
    plot_box.setContentsMargins(0, 0, 0, 0)
    plot_box.setSpacing(6)
    window.plot_box = plot_box  # the edit tool bar goes on top (edit_glue)
    view_row = QHBoxLayout()
    view_row.setContentsMargins(0, 0, 0, 0)
    view_row.setSpacing(2)
    view_row.addWidget(window.view, 1)
    view_row.addWidget(window.legend)
    plot_box.addLayout(view_row, 1)
    # The overview's ruler lines up with the spectrogram's: the same gutter on the left
    # (the frequency axis) and on the right (the colour legend).
    window.overview.align_with(FREQ_AXIS_PX)
    overview_row = QHBoxLayout()
    overview_row.setContentsMargins(0, 0, 0, 0)
    overview_row.setSpacing(view_row.spacing())
    overview_row.addWidget(window.overview, 1)
    gutter = QWidget()  # a widget, not a spacer: the layout's spacing applies to both rows
    gutter.setFixedWidth(window.legend.maximumWidth())
    overview_row.addWidget(gutter)
    plot_box.addLayout(overview_row)
    window.stack = QStackedWidget()
    window.stack.addWidget(window.drop_hint)
    window.stack.addWidget(plots)
    side = QWidget()
    side_box = QVBoxLayout(side)
    side_box.setContentsMargins(0, 0, 0, 0)
    side_box.addWidget(window.stem_list, 1)
    side_box.addWidget(window.mixer_area)
    # In a small window the side panel scrolls rather than squashing its rows together.
    side_scroll = QScrollArea()
    side_scroll.setWidget(side)
    side_scroll.setWidgetResizable(True)
    side_scroll.setFrameShape(QFrame.NoFrame)
    side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    window.side, window.side_scroll = side, side_scroll
    window.splitter = QSplitter(Qt.Horizontal)
    window.splitter.addWidget(window.stack)
    window.splitter.addWidget(side_scroll)
    window.splitter.setStretchFactor(0, 1)
    window.splitter.setStretchFactor(1, 0)
    window.splitter.setSizes([1000, 270])
    central = QWidget()
    central.setObjectName("central")
    box = QVBoxLayout(central)
    box.setContentsMargins(10, 10, 10, 6)
    box.setSpacing(8)
    box.addWidget(window.run_panel)
    box.addWidget(window.banner)
    box.addWidget(window.splitter, 1)
    box.addWidget(window.transport_area)
    window.setCentralWidget(central)
    # Permanent widgets are not hidden by transient status messages.
    window.statusBar().addPermanentWidget(window.hover_label)
    window.statusBar().addPermanentWidget(window.progress)
    for view in (window.view, window.overview):  # let drops reach the window
        view.setAcceptDrops(False)
        view.viewport().setAcceptDrops(False)
