"""A model's licence terms, readable in full, with an "I accept these terms" checkbox."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from stemsplit.gui.common.theme import ACCENT

VISIBLE_LINES = 7  # longer terms scroll; shorter ones are shown whole


class LicenceBox(QWidget):
    """Shows terms the user must accept before a download, and whether they did.

    Signals:
        acceptedChanged(bool): the checkbox was ticked or cleared.
    """

    acceptedChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<b>Licence terms</b> (please read; the weights are not MIT):")
        self.title.setWordWrap(True)
        self.terms = QTextBrowser()  # wraps at the widget's width, scrolls when long
        self.terms.setReadOnly(True)
        self.terms.setOpenExternalLinks(True)
        self.terms.setLineWrapMode(QTextBrowser.WidgetWidth)
        self.terms.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.terms.setVerticalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.terms.setAccessibleName("Licence terms")
        # Qt's default link blue is unreadable on the dark theme (whose style sheet
        # overrides a palette), so the document itself colours its links.
        self.terms.document().setDefaultStyleSheet(f"a {{ color: {ACCENT}; }}")
        self.checkbox = QCheckBox("I accept these terms")
        self.checkbox.toggled.connect(self.acceptedChanged)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.terms)
        layout.addWidget(self.checkbox)

    def set_terms(self, terms: str) -> None:
        """Show ``terms`` (plain text; web addresses become links) with the box cleared."""
        words = []
        for word in html.escape(terms).split(" "):
            bare = word.rstrip(").,;")
            if bare.startswith(("https://", "http://", "(https://", "(http://")):
                lead = "(" if bare.startswith("(") else ""
                url = bare.removeprefix("(")
                word = f'{lead}<a href="{url}">{url}</a>{word[len(bare):]}'
            words.append(word)
        self.terms.setHtml("<p>" + " ".join(words).replace("\n", "<br>") + "</p>")
        metrics = self.terms.fontMetrics()
        frame = 2 * self.terms.frameWidth() + 2 * int(self.terms.document().documentMargin())
        self.terms.setFixedHeight(VISIBLE_LINES * metrics.lineSpacing() + frame)
        self.checkbox.setChecked(False)

    @property
    def accepted(self) -> bool:
        return self.checkbox.isChecked()
