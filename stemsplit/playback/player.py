"""The player: a :class:`~stemsplit.playback.mixer.Mixer` behind a sounddevice OutputStream.

All public methods are meant for one thread (the GUI's). The audio callback
only renders the mixer; it never waits on anything the GUI holds. The GUI
polls :attr:`Player.position`, :meth:`Player.levels` and :meth:`Player.poll`
with a timer; :meth:`Player.add_listener` tells views that the state changed.

Positions and lengths in this API are samples at the *song's* rate, whatever
rate the device runs at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from stemsplit.playback.devices import save_device_name, saved_device_name
from stemsplit.playback.mix_controls import MixControls
from stemsplit.playback.mixer import Mixer, MixSettings
from stemsplit.playback.resample import Resampled
from stemsplit.playback.stream import DeviceStream, PlaybackError
from stemsplit.settings import Settings

BLOCKSIZE = 1024  # ~23 ms at 44.1 kHz: changes are heard within one block
MIX = "mix"  # the single source's name before separation
IDLE_CLOSE_SECONDS = 30.0  # release the device after this long paused
FADE_WAIT = 0.15  # how long close() lets the fade-out play before cutting


class Player(MixControls):
    """Plays the mixture, or the stems with gain / solo / mute, on one output device.

    Args:
        device: output device name; None follows the system default.
        blocksize: frames per audio callback.
    """

    def __init__(self, device: str | None = None, blocksize: int = BLOCKSIZE) -> None:
        self._device_name = device
        self._blocksize = int(blocksize)
        self._listeners: list[Callable[[], None]] = []
        self._names: tuple[str, ...] = ()
        self._has_stems = False
        self._song_rate = 0
        self._length = 0  # song samples
        self._available = 0  # song samples of finished stem audio
        self._song_sources: list[np.ndarray] = []
        self._resampled: Resampled | None = None
        self._out_rate = 0
        self._mixer = Mixer(44100)
        # The callback reads ``self._mixer`` afresh every block: the mixer can be swapped.
        self._stream = DeviceStream(lambda out: self._mixer.render(out))
        self._paused_at: float | None = None
        self._loop_region: tuple[int, int] | None = None
        self._loop_enabled = False
        self._settings_names: tuple[str, ...] = ()
        self._mix = np.zeros((1, 0), dtype=np.float32)
        self.error: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Player:
        """A player on the device the user chose last time."""
        return cls(device=saved_device_name(settings))

    # -- observers ---------------------------------------------------------------------

    def add_listener(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` (in the GUI thread) after every change of state."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _changed(self) -> None:
        for fn in list(self._listeners):
            fn()

    # -- sources -----------------------------------------------------------------------

    def set_sources(self, mix: np.ndarray, sample_rate: int,
                    stems: dict[str, np.ndarray] | None = None,
                    available: int | None = None) -> None:
        """Load a song: the mixture alone, or stems (which may still be growing).

        Args:
            mix: ``(channels, samples)`` float32, the original song.
            sample_rate: the song's rate.
            stems: name -> ``(channels, samples)``; while separation runs these are
                preallocated float32 C-contiguous arrays the caller fills in place.
            available: samples of the stems that are finished (default: all).
        """
        if sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        same_song = (self._song_rate == sample_rate and self._length == mix.shape[-1])
        if not same_song:
            # A new song: let the old one fade out and give the device back, so the
            # next play opens it at the new song's rate.
            self.close()
            self._seek_now(0)
            self._loop_region = None
            self._settings_names = ()  # a new song starts with every fader at 0 dB
        self._song_rate = int(sample_rate)
        self._mix = np.ascontiguousarray(mix, dtype=np.float32)
        self._length = self._mix.shape[-1]
        if stems:
            self._use_stems(stems, available)
        else:
            self._use_mix()
        self._changed()

    def set_stems(self, stems: dict[str, np.ndarray] | None, available: int | None = None,
                  changed: tuple[int, int] | None = None) -> None:
        """Switch the loaded song to stems (or back to the mixture with None).
        ``changed=(a, b)``: these are the arrays playing, edited in place in ``[a, b)``
        only; just that span is resampled again, not every source's whole song."""
        if self._song_rate == 0:
            raise ValueError("load a song with set_sources first")
        playing = self._has_stems and tuple(stems or ()) == self._names and all(
            stems[n] is a for n, a in zip(self._names, self._song_sources, strict=True))
        if stems and changed is not None and playing:
            if self._resampled is not None:
                self._resampled.refresh(*changed)
        elif stems:
            self._use_stems(stems, available)
        else:
            self._use_mix()
        self._changed()

    def set_available(self, n_samples: int) -> None:
        """More stem audio is finished: ``[0, n_samples)`` may now be played."""
        self._available = max(0, min(int(n_samples), self._length))
        if not self._has_stems:
            return
        r = self._resampled
        self._mixer.available = r.feed_to(self._available) if r is not None else self._available

    def _use_mix(self) -> None:
        old = self._mixer.settings
        self._has_stems = False
        self._names = (MIX,)
        self._song_sources = [self._mix]
        self._available = self._length
        keep = old if self._names == self._settings_names else None
        self._load(keep)

    def _use_stems(self, stems: dict[str, np.ndarray], available: int | None) -> None:
        names = tuple(stems)
        arrays = [stems[n] for n in names]
        for n, a in zip(names, arrays, strict=True):
            if a.shape[-1] != self._length:
                raise ValueError(f"stem {n!r} has {a.shape[-1]} samples, the song {self._length}")
            growing = available is not None and available < self._length
            if growing and (a.dtype != np.float32 or not a.flags.c_contiguous):
                raise ValueError("growing stems must be float32 C-contiguous arrays")
        old = self._mixer.settings if names == self._settings_names else None
        self._has_stems = True
        self._names = names
        self._song_sources = arrays
        self._available = self._length if available is None else max(0, min(available,
                                                                             self._length))
        self._load(old)

    def _load(self, settings: MixSettings | None, out_rate: int | None = None) -> None:
        """(Re)build the mixer's program at the output rate, keeping the position."""
        pos = self.position
        if out_rate is None:
            out_rate = self._out_rate if self._stream.is_open else self._song_rate
        rebuilt = out_rate != self._mixer.sample_rate
        if rebuilt:
            self._stream.close()  # the mixer belongs to the stream's rate
            transport = self._mixer.transport
            self._mixer = Mixer(out_rate)
            self._mixer.transport = transport
        if out_rate != self._song_rate:
            self._resampled = Resampled(self._song_sources, self._song_rate, out_rate)
            sources = self._resampled.outputs
            available = self._resampled.feed_to(self._available)
        else:
            self._resampled = None
            sources, available = self._song_sources, self._available
        self._out_rate = out_rate
        self._settings_names = self._names
        self._mixer.set_sources(sources, available=available,
                                settings=settings or MixSettings.unity(len(sources)))
        if rebuilt:  # otherwise the mixer keeps its position (it may be playing right now)
            self._seek_now(pos)
        self._apply_loop()

    @property
    def has_stems(self) -> bool:
        return self._has_stems

    # -- transport (per-source controls: MixControls) -----------------------------------

    @property
    def sample_rate(self) -> int:
        """The song's rate (positions are counted in it)."""
        return self._song_rate

    @property
    def length(self) -> int:
        return self._length

    @property
    def duration_s(self) -> float:
        return self._length / self._song_rate if self._song_rate else 0.0

    @property
    def available(self) -> int:
        """Song samples that can be heard (all of them for the mixture)."""
        return self._available if self._has_stems else self._length

    @property
    def is_playing(self) -> bool:
        """The user asked for sound and the song has not run out."""
        return self._mixer.transport.playing and not self._mixer.ended

    @property
    def position(self) -> int:
        """The sample being heard now (song rate); poll it with a timer."""
        m = self._mixer
        t = m.transport
        if t.seek_serial != m._seek_serial:
            out_pos = t.seek_to  # a seek is on its way: show where it goes
        else:
            out_pos = m.position
            if self.is_playing and m.level > 0.0:
                out_pos = max(0, out_pos - self._stream.latency_frames)
        return self._to_song(out_pos)

    @property
    def position_s(self) -> float:
        return self.position / self._song_rate if self._song_rate else 0.0

    def play(self) -> bool:
        """Start (or resume) playback; False with :attr:`error` set when it cannot."""
        if self._length == 0:
            return False
        self.error = None
        if self._mixer.ended or self._mixer.position >= self._mixer.length:
            start = self._loop_region[0] if self._loop_enabled and self._loop_region else 0
            self.seek(start)
        try:
            self._ensure_stream()
        except PlaybackError as exc:
            self._fail(str(exc))
            return False
        t = self._mixer.transport
        self._mixer.transport = replace(t, playing=True, play_serial=t.play_serial + 1)
        self._paused_at = None
        self._changed()
        return True

    def pause(self) -> None:
        """Fade out and hold the position."""
        t = self._mixer.transport
        if t.playing:
            self._mixer.transport = replace(t, playing=False)
            self._paused_at = time.monotonic()
            self._changed()

    def toggle(self) -> bool:
        """Play if paused, pause if playing; returns whether it now plays."""
        if self.is_playing:
            self.pause()
            return False
        return self.play()

    def stop(self) -> None:
        """Pause and go back to the start."""
        self.pause()
        self.seek(0)

    def seek(self, sample: int) -> None:
        """Jump to ``sample`` (song rate); a playing song fades out and in around it."""
        if not self._stream.is_open:
            self._seek_now(sample)
        else:
            t = self._mixer.transport
            self._mixer.transport = replace(t, seek_to=self._to_out(self._clamp(sample)),
                                            seek_serial=t.seek_serial + 1)
        self._changed()

    def seek_seconds(self, seconds: float) -> None:
        self.seek(round(seconds * self._song_rate))

    def _seek_now(self, sample: int) -> None:
        """Move the position directly; only safe while no callback runs."""
        m = self._mixer
        m.position = min(self._to_out(self._clamp(sample)), m.length)
        m._seek_serial = m.transport.seek_serial  # nothing pending any more
        m._ended_serial = -1

    @property
    def loop_region(self) -> tuple[int, int] | None:
        """The loop's ``(start, end)`` in song samples, or None (loop the whole song)."""
        return self._loop_region

    def set_loop_region(self, start: int | None, end: int | None = None) -> None:
        """Set the region to loop (song samples); ``None`` clears it."""
        if start is None or end is None:
            self._loop_region = None
        else:
            a, b = sorted((self._clamp(start), self._clamp(end)))
            self._loop_region = (a, b) if b > a else None
        self._apply_loop()
        self._changed()

    @property
    def loop_enabled(self) -> bool:
        return self._loop_enabled

    def set_loop_enabled(self, on: bool) -> None:
        self._loop_enabled = bool(on)
        self._apply_loop()
        self._changed()

    def _apply_loop(self) -> None:
        loop = None
        if self._loop_enabled and self._length:
            a, b = self._loop_region or (0, self._length)
            loop = (self._to_out(a), min(self._to_out(b), self._mixer.length))
        self._mixer.transport = replace(self._mixer.transport, loop=loop)

    def _clamp(self, sample: int) -> int:
        return max(0, min(int(sample), self._length))

    def _to_out(self, sample: int) -> int:
        return self._resampled.to_out(sample) if self._resampled else int(sample)

    def _to_song(self, sample: int) -> int:
        return min(self._resampled.to_in(sample), self._length) if self._resampled else sample

    # -- device ------------------------------------------------------------------------

    @property
    def device_name(self) -> str | None:
        return self._device_name

    def set_device(self, name: str | None, remember: bool = True,
                   settings: Settings | None = None) -> bool:
        """Use another output device (None: system default); playback carries on there."""
        was_playing = self.is_playing
        self._device_name = name or None
        if remember:
            save_device_name(self._device_name, settings)
        self.close()
        self._changed()
        return self.play() if was_playing else True

    def _ensure_stream(self) -> None:
        if self._stream.is_open:
            return
        rate = self._stream.choose_rate(self._device_name, self._song_rate)
        if rate != self._mixer.sample_rate:
            self._load(self._mixer.settings, rate)  # the device refuses the song's rate
        self._stream.open(self._device_name, rate, self._blocksize)

    def poll(self) -> str | None:
        """Check the device's health; call it from a GUI timer.

        Returns:
            A message for the user when playback has just failed, else None.
        """
        pos = self.position
        failed = self._stream.poll()
        if failed is not None:
            self._fail(failed, pos)
            return failed
        if (self._stream.is_open and not self._mixer.transport.playing
                and self._paused_at is not None
                and time.monotonic() - self._paused_at > IDLE_CLOSE_SECONDS):
            self._stream.close()  # give the device back while nobody listens
            self._seek_now(pos)
        return None

    def _fail(self, message: str, pos: int | None = None) -> None:
        pos = self.position if pos is None else pos
        self.error = message
        self._stream.close()
        self._mixer.transport = replace(self._mixer.transport, playing=False)
        self._seek_now(pos)
        self._changed()

    def close(self) -> None:
        """Fade out and release the device; the player stays usable (it reopens on play)."""
        if not self._stream.is_open:
            return
        self.pause()
        deadline = time.monotonic() + FADE_WAIT
        while self._mixer.level > 0.0 and time.monotonic() < deadline:
            time.sleep(0.005)  # a few ms: the fade-out is one block at most
        pos = self.position
        self._stream.close()
        self._seek_now(pos)
