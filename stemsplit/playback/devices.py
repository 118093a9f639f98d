"""Output devices: listing them and remembering the user's choice.

Devices are remembered by name, not index: PortAudio numbers them afresh on
every start, while names stay stable across runs.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

import sounddevice as sd

from stemsplit.settings import Settings

SETTINGS_KEY = "playback.device"


@dataclass(frozen=True)
class OutputDevice:
    """One output device as PortAudio reports it."""

    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: float
    is_default: bool

    @property
    def label(self) -> str:
        """What a preferences dialog shows."""
        return f"{self.name} ({self.hostapi})"


def list_output_devices(refresh: bool = False) -> list[OutputDevice]:
    """Every device that can play at least one channel.

    Args:
        refresh: re-scan the system first (PortAudio only scans at start-up);
            skipped while a stream is open.
    """
    if refresh:
        rescan()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_out = _default_output_index()
    except sd.PortAudioError:
        return []
    result = []
    for d in devices:
        if d["max_output_channels"] < 1:
            continue
        result.append(OutputDevice(
            index=int(d["index"]), name=str(d["name"]),
            hostapi=str(hostapis[d["hostapi"]]["name"]),
            channels=int(d["max_output_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            is_default=int(d["index"]) == default_out))
    return result


# Streams whose closing is still running in a helper thread (a slow or hung driver).
# Restarting PortAudio under them would deadlock, so a rescan waits for them.
_closing: list[threading.Thread] = []


_open_streams: weakref.WeakSet = weakref.WeakSet()  # DeviceStreams with an open stream


def track_closing(thread: threading.Thread) -> None:
    """Note a thread that is closing a stream (see :func:`rescan`)."""
    _closing[:] = [t for t in _closing if t.is_alive()] + [thread]


def track_open(owner: object, is_open: bool) -> None:
    """Note that ``owner``'s stream opened or closed (see :func:`rescan`)."""
    if is_open:
        _open_streams.add(owner)
    else:
        _open_streams.discard(owner)


def rescan(timeout: float = 5.0) -> bool:
    """Make PortAudio look for devices again (devices plugged in since start-up).

    Restarting PortAudio would kill open streams, so nothing happens while one
    plays; the list then stays as it was.

    Returns:
        False (and nothing done) when a stream is open, or still closing after
        ``timeout``.
    """
    if len(_open_streams):
        return False
    deadline = time.monotonic() + timeout
    for t in list(_closing):
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in _closing):
        return False
    _closing.clear()
    sd._terminate()  # documented way to re-scan in the sounddevice FAQ
    sd._initialize()
    return True


def find_output_device(name: str | None) -> OutputDevice | None:
    """The device called ``name``; the system default when ``name`` is None or empty."""
    devices = list_output_devices()
    if name:
        for d in devices:
            if d.name == name:
                return d
        return None
    for d in devices:
        if d.is_default:
            return d
    return devices[0] if devices else None


def saved_device_name(settings: Settings | None = None) -> str | None:
    """The remembered choice; None means the system default."""
    value = (settings or Settings()).get(SETTINGS_KEY)
    return value if isinstance(value, str) and value else None


def save_device_name(name: str | None, settings: Settings | None = None) -> None:
    """Remember the user's choice (None: follow the system default)."""
    (settings or Settings()).set(SETTINGS_KEY, name or None)


def _default_output_index() -> int:
    try:
        return int(sd.query_devices(kind="output")["index"])
    except (sd.PortAudioError, ValueError):
        return -1
