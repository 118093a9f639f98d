"""The look: a dark palette for audio work, stem colours and image lookup tables."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle

BACKGROUND = "#16181d"
PANEL = "#1e2128"
RAISED = "#272b34"
BORDER = "#343a46"
TEXT = "#dfe3ea"
MUTED = "#8b93a3"
ACCENT = "#4fb3ff"
ERROR = "#ff6b6b"
SOLO = "#f2c94c"  # the yellow "S" of most DAWs

# Vocals warm, accompaniment cool; further stems (4/5-stem models) get distinct hues.
_NAMED = {"vocals": "#ff5c8a", "accompaniment": "#3ad1c4", "drums": "#ffb23f",
          "bass": "#8f7bff", "piano": "#7bd66b", "other": "#4fb3ff"}
_SPARE = ["#ffb23f", "#8f7bff", "#7bd66b", "#4fb3ff", "#f2e85c"]


def stem_colour(name: str, index: int) -> str:
    """A stable colour for a stem: by name when known, else by position."""
    return _NAMED.get(name, _SPARE[index % len(_SPARE)])


def spectrogram_lut() -> np.ndarray:
    """A 256-entry "magma"-like LUT (dark violet -> orange -> pale yellow) as uint8 RGB."""
    stops = np.array([
        [0.00, 5, 5, 12], [0.25, 50, 18, 90], [0.50, 150, 40, 110],
        [0.72, 235, 95, 70], [0.88, 252, 175, 90], [1.00, 252, 245, 190]])
    return _interpolate(stops)


def grey_lut() -> np.ndarray:
    """Muted blue-grey LUT for the mixture under colour mask overlays."""
    stops = np.array([[0.0, 10, 11, 15], [0.6, 70, 76, 92], [1.0, 215, 220, 232]])
    return _interpolate(stops)


def overlay_lut(colour: str) -> np.ndarray:
    """RGBA LUT: transparent at 0, the stem's colour fully opaque at 255."""
    c = QColor(colour)
    lut = np.zeros((256, 4), np.uint8)
    lut[:, 0], lut[:, 1], lut[:, 2] = c.red(), c.green(), c.blue()
    # Gamma < 1 lifts weak evidence a little so quiet parts of a stem stay visible.
    lut[:, 3] = np.round(255 * np.linspace(0, 1, 256) ** 0.8).astype(np.uint8)
    return lut


def _interpolate(stops: np.ndarray) -> np.ndarray:
    x = np.linspace(0, 1, 256)
    return np.stack([np.interp(x, stops[:, 0], stops[:, i]) for i in (1, 2, 3)],
                    axis=1).round().astype(np.uint8)


STYLE = f"""
QWidget {{ color: {TEXT}; font-size: 10pt; }}
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QMainWindow::separator {{ background: {BORDER}; width: 1px; height: 1px; }}
QMenuBar {{ background: {PANEL}; border-bottom: 1px solid {BORDER}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {RAISED}; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; }}
QMenu::item:disabled {{ color: {MUTED}; }}
QFrame#panel, QFrame#toolbar {{ background: {PANEL}; border: 1px solid {BORDER};
    border-radius: 6px; }}
QLabel {{ background: transparent; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#title {{ font-size: 12pt; font-weight: 600; }}
QPushButton, QToolButton {{ background: {RAISED}; border: 1px solid {BORDER};
    border-radius: 5px; padding: 5px 12px; }}
QPushButton:hover, QToolButton:hover {{ border-color: {ACCENT}; }}
QPushButton:disabled, QToolButton:disabled {{ color: {MUTED}; background: {PANEL}; }}
QPushButton:checked, QToolButton:checked {{ background: #1c3a52; border-color: {ACCENT};
    color: {ACCENT}; }}
QPushButton#solo, QPushButton#mute {{ padding: 2px 0px; min-width: 26px; max-width: 26px;
    font-weight: 600; }}
QPushButton#solo:checked {{ background: {SOLO}; border-color: {SOLO}; color: #1a1400; }}
QPushButton#mute:checked {{ background: {ERROR}; border-color: {ERROR}; color: #1a0505; }}
QPushButton#primary {{ background: {ACCENT}; color: #07121c; font-weight: 600;
    border: none; }}
QPushButton#primary:disabled {{ background: #2b4458; color: #7f93a5; }}
QComboBox {{ background: {RAISED}; border: 1px solid {BORDER}; border-radius: 5px;
    padding: 4px 8px; }}
QComboBox::drop-down {{ border: none; width: 20px; }}
QComboBox::down-arrow {{ image: url({{ARROW}}); width: 10px; height: 6px; }}
QComboBox QAbstractItemView {{ background: {PANEL}; selection-background-color: {RAISED}; }}
QProgressBar {{ background: {RAISED}; border: 1px solid {BORDER}; border-radius: 4px;
    text-align: center; height: 14px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QSlider::groove:horizontal {{ height: 4px; background: {RAISED}; border-radius: 2px; }}
QSlider::handle:horizontal {{ width: 12px; margin: -5px 0; border-radius: 6px;
    background: {TEXT}; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QStatusBar {{ background: {PANEL}; border-top: 1px solid {BORDER}; }}
QStatusBar::item {{ border: none; }}
QCheckBox::indicator {{ width: 14px; height: 14px; border: 1px solid {BORDER};
    border-radius: 3px; background: {RAISED}; }}
QCheckBox::indicator:hover {{ border-color: {ACCENT}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT};
    image: url({{CHECK}}); }}
QFrame#banner {{ background: #3a1f24; border: 1px solid {ERROR}; border-radius: 6px; }}
QFrame#banner[kind="info"] {{ background: #1c2c3a; border-color: {ACCENT}; }}
QWidget#central[dropping="true"] {{ border: 2px dashed {ACCENT}; border-radius: 8px; }}
QToolTip {{ background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; }}
"""


class _DarkStyle(QProxyStyle):
    """Fusion, without its dark-on-dark icons: dialog buttons are text only (as on macOS
    and Windows), and every close / clear cross is drawn in the text colour."""

    CROSSES = (QStyle.SP_DialogCloseButton, QStyle.SP_TitleBarCloseButton,
               QStyle.SP_DockWidgetCloseButton, QStyle.SP_LineEditClearButton,
               QStyle.SP_DialogCancelButton)

    def styleHint(self, hint, option=None, widget=None, data=None):  # noqa: N802 (Qt API)
        if hint == QStyle.SH_DialogButtonBox_ButtonsHaveIcons:
            return 0
        return super().styleHint(hint, option, widget, data)

    def standardIcon(self, icon, option=None, widget=None):  # noqa: N802 (Qt API)
        if icon in self.CROSSES:
            return cross_icon()
        return super().standardIcon(icon, option, widget)


def cross_icon(colour: str = TEXT) -> QIcon:
    """A light "x" that stays visible on the dark panels (greyed when disabled)."""
    out = QIcon()
    for mode, c in ((QIcon.Normal, colour), (QIcon.Disabled, MUTED)):
        for scale in (1, 2):
            pixmap = QPixmap(16 * scale, 16 * scale)
            pixmap.fill(Qt.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.Antialiasing)
            painter.scale(scale, scale)
            painter.setPen(QPen(QColor(c), 1.8, Qt.SolidLine, Qt.RoundCap))
            painter.drawLine(4, 4, 12, 12)
            painter.drawLine(12, 4, 4, 12)
            painter.end()
            pixmap.setDevicePixelRatio(scale)
            out.addPixmap(pixmap, mode)
    return out


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style + a dark palette + the stylesheet above."""
    app.setStyle(_DarkStyle("Fusion"))
    pal = QPalette()
    for role, colour in [
        (QPalette.Window, BACKGROUND), (QPalette.WindowText, TEXT), (QPalette.Base, PANEL),
        (QPalette.AlternateBase, RAISED), (QPalette.Text, TEXT), (QPalette.Button, RAISED),
        (QPalette.ButtonText, TEXT), (QPalette.Highlight, ACCENT),
        (QPalette.HighlightedText, "#07121c"), (QPalette.ToolTipBase, PANEL),
        (QPalette.ToolTipText, TEXT), (QPalette.PlaceholderText, MUTED),
    ]:
        pal.setColor(role, QColor(colour))
    pal.setColor(QPalette.Disabled, QPalette.Text, QColor(MUTED))
    pal.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(MUTED))
    app.setPalette(pal)
    from stemsplit.gui.common.icon import resource_path

    style = STYLE
    for key, name in (("{ARROW}", "combo-arrow.svg"), ("{CHECK}", "check.svg")):
        path = resource_path(name)
        style = style.replace(key, path.as_posix() if path else "")
    app.setStyleSheet(style)
