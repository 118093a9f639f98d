"""What the window shows before a song is loaded: how to get started."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from stemsplit.gui.common.icon import icon_pixmap


class DropHint(QFrame):
    """A friendly empty state with Open and Try-the-demo buttons."""

    openClicked = Signal()
    demoClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        logo = QLabel()
        logo.setPixmap(icon_pixmap(96))
        logo.setAlignment(Qt.AlignCenter)
        layout.addWidget(logo)
        title = QLabel("Drop a song here")
        title.setObjectName("title")
        title.setAlignment(Qt.AlignCenter)
        layout.addWidget(title)
        self.sub = QLabel("WAV, FLAC, AIFF, MP3, M4A, OGG… or open one with Ctrl+O")
        self.sub.setObjectName("muted")
        self.sub.setAlignment(Qt.AlignCenter)
        layout.addWidget(self.sub)
        row = QHBoxLayout()
        row.addStretch(1)
        open_button = QPushButton("Open a song…")
        open_button.setObjectName("primary")
        open_button.clicked.connect(self.openClicked)
        row.addWidget(open_button)
        self.demo = QPushButton("Try the demo song")
        self.demo.clicked.connect(self.demoClicked)
        row.addWidget(self.demo)
        row.addStretch(1)
        layout.addSpacing(8)
        layout.addLayout(row)
        layout.addStretch(1)
