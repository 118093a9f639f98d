"""The Playback menu: transport commands, looping, following, the output device.

The keys (Space, Home, L) belong to the transport's window shortcuts; the menu
only shows them (text after a tab), so no key is bound twice.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from stemsplit.playback.devices import list_output_devices

SYSTEM_DEFAULT = "System Default"


class PlaybackMenu(QMenu):
    """Built around a PlaybackGlue (its player, transport and window)."""

    def __init__(self, glue, parent=None) -> None:
        super().__init__("&Playback", parent)
        self.glue = glue
        t = glue.transport
        self.play = self._add("Play / Pause\tSpace", t.toggle_play)
        self.stop = self._add("Stop", t.stop)
        self.to_start = self._add("Jump to Start\tHome", t.to_start)
        self.addSeparator()
        self.loop = self._add("Loop\tL", t.toggle_loop)
        self.loop.setCheckable(True)
        self._add("Loop Visible Range", glue.loop_visible_range)
        self.clear_loop = self._add("Clear Loop Region", glue.clear_loop_region)
        self.addSeparator()
        self.follow = self.addAction("Follow Playhead")
        self.follow.setCheckable(True)
        self.follow.setChecked(glue.follow)
        self.follow.toggled.connect(glue.set_follow)
        self.addSeparator()
        self.devices = self.addMenu("Output &Device")
        self.devices.aboutToShow.connect(self.fill_devices)
        self.aboutToShow.connect(self._sync)

    def _add(self, text: str, slot) -> QAction:
        action = self.addAction(text)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _sync(self) -> None:
        p = self.glue.player
        loaded = p.length > 0
        for action in (self.play, self.stop, self.to_start, self.loop):
            action.setEnabled(loaded)
        self.loop.setChecked(p.loop_enabled)
        self.clear_loop.setEnabled(p.loop_region is not None)

    def fill_devices(self) -> list[str]:
        """List the output devices (re-scanned when nothing plays); returns their labels."""
        menu = self.devices
        menu.clear()
        group = QActionGroup(menu)
        current = self.glue.player.device_name
        names = [None] + [d.name for d in list_output_devices(refresh=True)]
        if current is not None and current not in names:
            names.append(current)  # remembered but unplugged: still shown, still chosen
        labels = []
        for name in dict.fromkeys(names):
            label = SYSTEM_DEFAULT if name is None else name
            action = menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(name == current)
            action.setActionGroup(group)
            action.triggered.connect(lambda _c=False, n=name: self.glue.choose_device(n))
            labels.append(label)
        return labels
