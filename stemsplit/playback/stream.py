"""One sounddevice OutputStream with failure detection that never blocks for long.

A dying device shows up in several ways: PortAudio ends the stream (the
``finished_callback`` runs without our asking), ``stream.active`` turns False,
or callbacks simply stop coming. :meth:`DeviceStream.poll`, called from a GUI
timer, turns any of them into one user-facing message. Closing runs in a
helper thread with a timeout, so a hung driver cannot hang the app.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import sounddevice as sd

from stemsplit.playback.devices import find_output_device, track_closing, track_open

# No callback for this long means the device is gone. Generous: some sound servers
# (PulseAudio's null sink) hold the first blocks for ~2 s.
STALL_SECONDS = 5.0
CLOSE_TIMEOUT = 2.0  # never wait longer than this for a stream to close


# Playback is the one thing a machine without sound loses: say so, and what to check.
NO_DEVICE = ("No audio output device was found, so playback is unavailable; opening, "
             "separating, editing and exporting still work. Check that speakers or "
             "headphones are connected and enabled in the system's sound settings (on "
             "Linux, that PulseAudio or PipeWire is running), then pick it under Playback > "
             "Output Device, which looks for devices again each time it opens.")


class PlaybackError(Exception):
    """Playback cannot start or went away; the message is for the user."""


class DeviceStream:
    """A stereo float32 output stream that calls ``render(outdata)`` for every block.

    Args:
        render: fills a ``(frames, 2)`` float32 array; runs in PortAudio's thread.
    """

    def __init__(self, render: Callable[[np.ndarray], None]) -> None:
        self._render = render
        self._stream: sd.OutputStream | None = None
        self._failed: str | None = None  # set from PortAudio's thread
        self._closing = False
        self._last_callback = 0.0
        self.rate = 0
        self.latency_frames = 0
        self.underflows = 0

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def choose_rate(self, device_name: str | None, wanted: int) -> int:
        """``wanted`` when the device accepts it, else the device's own rate."""
        dev = self._device(device_name)
        try:
            sd.check_output_settings(dev.index, channels=2, dtype="float32", samplerate=wanted)
            return wanted
        except (sd.PortAudioError, ValueError):
            return int(dev.default_samplerate)

    def open(self, device_name: str | None, rate: int, blocksize: int) -> None:
        """Open and start the stream.

        Raises:
            PlaybackError: no such device, or PortAudio refused to open it.
        """
        self.close()
        dev = self._device(device_name)
        self._failed = None
        try:
            stream = sd.OutputStream(
                samplerate=rate, blocksize=blocksize, device=dev.index, channels=2,
                dtype="float32", callback=self._callback,
                finished_callback=self._finished_callback)
            self._last_callback = time.monotonic()
            self._stream = stream
            track_open(self, True)
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self.close()
            raise PlaybackError(f"Could not open the audio device “{dev.name}”: {exc}") from exc
        self.rate = rate
        self.latency_frames = round(float(stream.latency) * rate)

    @staticmethod
    def _device(device_name: str | None):
        dev = find_output_device(device_name)
        if dev is None:
            if device_name:
                raise PlaybackError(f"The output device “{device_name}” is not available. "
                                    "Choose another one in Preferences.")
            raise PlaybackError(NO_DEVICE)
        return dev

    def _callback(self, outdata: np.ndarray, frames: int, time_info, status) -> None:
        # PortAudio's thread: no array allocation, no locks, no GUI.
        self._last_callback = time.monotonic()
        if status.output_underflow:
            self.underflows += 1
        try:
            self._render(outdata)
        except Exception as exc:  # a bug must not leave the device screaming
            outdata.fill(0.0)
            self._failed = f"Playback stopped after an internal error: {exc}"
            raise sd.CallbackAbort from exc

    def _finished_callback(self) -> None:
        if not self._closing and self._stream is not None and not self._failed:
            self._failed = "The audio device stopped unexpectedly."

    def poll(self) -> str | None:
        """A message when the open stream has died (then it is closed), else None."""
        stream = self._stream
        if stream is None:
            return None
        failed = self._failed
        if failed is None:
            try:
                alive = stream.active
            except sd.PortAudioError:
                alive = False
            if not alive:
                failed = "The audio device stopped unexpectedly."
            elif time.monotonic() - self._last_callback > STALL_SECONDS:
                failed = "The audio device stopped responding."
        if failed is not None:
            self.close()
        return failed

    def close(self) -> None:
        """Stop and close without ever blocking the caller for long."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        track_open(self, False)
        self._closing = True

        def close() -> None:
            try:
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
            except Exception:  # noqa: BLE001 - a dying device may fail in any way
                pass

        worker = threading.Thread(target=close, name="stemsplit-close-stream", daemon=True)
        track_closing(worker)
        worker.start()
        worker.join(CLOSE_TIMEOUT)  # a hung driver leaks one thread, not the app
        self._closing = False
