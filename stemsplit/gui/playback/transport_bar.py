"""The transport: to start, play / pause, stop, loop, and the time display.

It drives a :class:`~stemsplit.playback.Player` and polls its position with a
QTimer (the audio thread never talks to Qt). The playhead elsewhere in the
window follows :attr:`TransportBar.positionChanged`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from stemsplit.gui.common import theme
from stemsplit.gui.common.glyphs import ICON_SIZE, glyph_icon
from stemsplit.gui.common.widgets import observe_player, start_timer, window_keys
from stemsplit.playback import Player

POLL_MS = 30  # smooth enough for a moving playhead, cheap enough to run always


def format_time(seconds: float) -> str:
    """``m:ss.t`` (or ``h:mm:ss.t``) for the time display."""
    tenths = int(max(0.0, seconds) * 10 + 0.5)
    s, t = divmod(tenths, 10)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}.{t}" if h else f"{m}:{s:02d}.{t}"


class TransportBar(QFrame):
    """Transport buttons and the clock for one player.

    Signals:
        positionChanged(float): the heard position in seconds, while it moves
            and after every seek (drive the playhead with it).
        errorOccurred(str): playback failed (device gone); the message is for the user.
        playingChanged(bool): playback started or stopped (also at the song's end).
    """

    positionChanged = Signal(float)
    errorOccurred = Signal(str)
    playingChanged = Signal(bool)

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolbar")
        self.player = player
        self._last_pos: tuple[int, int] | None = None
        self._last_playing: bool | None = None
        self._last_error: str | None = None

        self._icons = {k: glyph_icon(k) for k in ("play", "pause", "stop", "to_start")}
        self.to_start_button = self._button("to_start", "Jump to the start (Home)",
                                            self.to_start)
        self.play_button = self._button("play", "Play (Space)", self.toggle_play)
        self.play_button.setMinimumWidth(56)
        self.stop_button = self._button("stop", "Stop and go back to the start", self.stop)
        self.loop_button = QPushButton("Loop")
        self.loop_button.setToolTip("Loop the region drawn on the time ruler, "
                                    "or the whole song (L)")
        self.loop_button.setFocusPolicy(Qt.NoFocus)
        self.loop_button.clicked.connect(self.toggle_loop)
        self.loop_button.setCheckable(True)
        self.time_label = QLabel(format_time(0) + " / " + format_time(0))
        self.time_label.setMinimumWidth(140)
        self.time_label.setAlignment(Qt.AlignVCenter | Qt.AlignLeft)
        self.error_label = QLabel("")
        self.error_label.setStyleSheet(f"color: {theme.ERROR};")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        box = QHBoxLayout(self)
        box.setContentsMargins(8, 4, 8, 4)
        for w in (self.to_start_button, self.play_button, self.stop_button, self.loop_button,
                  self.time_label):
            box.addWidget(w)
        box.addWidget(self.error_label, 1)
        box.addStretch(0)

        self.timer = start_timer(self, POLL_MS, self._poll)
        observe_player(self, player, self._refresh)
        self._refresh()

    def _button(self, glyph: str, tip: str, slot) -> QPushButton:
        b = QPushButton()
        b.setIcon(self._icons[glyph])
        b.setIconSize(ICON_SIZE)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.NoFocus)  # Space must reach the shortcut, not a focused button
        b.clicked.connect(slot)
        return b

    # -- actions (also what the keyboard shortcuts call) ---------------------------------

    def toggle_play(self) -> None:
        self.player.toggle()

    def to_start(self) -> None:
        start = self.player.loop_region[0] if (self.player.loop_enabled
                                               and self.player.loop_region) else 0
        self.player.seek(start)

    def stop(self) -> None:
        self.player.stop()

    def toggle_loop(self) -> None:
        self.player.set_loop_enabled(not self.player.loop_enabled)

    def seek_seconds(self, seconds: float) -> None:
        """Move the playhead (a click on the spectrogram or the overview)."""
        self.player.seek_seconds(seconds)

    def install_shortcuts(self, window: QWidget) -> list[QShortcut]:
        """Space, Home and L on ``window`` (active while the window has focus)."""
        return window_keys(window, [(Qt.Key_Space, self.toggle_play),
                                    (Qt.Key_Home, self.to_start), (Qt.Key_L, self.toggle_loop)])

    # -- display -----------------------------------------------------------------------

    def _refresh(self) -> None:
        """Player state changed (from anywhere): show it."""
        p = self.player
        loaded = p.length > 0
        for b in (self.to_start_button, self.play_button, self.stop_button, self.loop_button):
            b.setEnabled(loaded)
        self.loop_button.setChecked(p.loop_enabled)
        self._poll()

    def _poll(self) -> None:
        p = self.player
        p.poll()  # a dead device sets p.error
        if p.error != self._last_error:  # failed to start, failed while playing, or cleared
            self._last_error = p.error
            self._show_error(p.error)
            if p.error:
                self.errorOccurred.emit(p.error)
        playing = p.is_playing
        if playing != self._last_playing:
            self._last_playing = playing
            self.play_button.setIcon(self._icons["pause" if playing else "play"])
            self.play_button.setToolTip("Pause (Space)" if playing else "Play (Space)")
            self.playingChanged.emit(playing)
        pos = p.position
        if (pos, p.length) != self._last_pos:
            self._last_pos = (pos, p.length)  # a new song changes the length too
            seconds = pos / p.sample_rate if p.sample_rate else 0.0
            self.time_label.setText(f"{format_time(seconds)} / {format_time(p.duration_s)}")
            self.positionChanged.emit(seconds)

    def _show_error(self, message: str | None) -> None:
        self.error_label.setText(message or "")
        self.error_label.setVisible(bool(message))
