"""The real-time mixer: sources x gains -> one stereo output block; pure numpy, no device.

The audio callback owns a :class:`Mixer` and calls :meth:`Mixer.render` once per
block. Everything the GUI changes reaches it by swapping one reference to an
immutable object (:class:`MixSettings` for gains, :class:`Transport` for
play / seek / loop): assigning an attribute is atomic in CPython, so the
callback never waits on a lock the GUI could hold. ``render`` allocates no
arrays: every buffer is made once in ``__init__`` / ``set_sources``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

MAX_BLOCK = 4096  # larger device blocks are rendered in pieces of this size
FADE_SECONDS = 0.005  # start / stop / seek fades: short enough to feel instant, no click
MIN_DB = -60.0  # at or below this a fader means silence


def db_to_gain(db: float) -> float:
    """Decibels to a linear factor; ``MIN_DB`` and below are silence."""
    return 0.0 if db <= MIN_DB else float(10.0 ** (db / 20.0))


@dataclass(frozen=True)
class MixSettings:
    """Per-source gain (dB), solo and mute; immutable so it can be handed over whole.

    The effective gains follow a DAW: mute always wins; when any source is
    soloed only the soloed ones sound; otherwise every unmuted source sounds.
    """

    gains_db: tuple[float, ...]
    solo: tuple[bool, ...]
    mute: tuple[bool, ...]
    gains: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.gains_db)
        if len(self.solo) != n or len(self.mute) != n:
            raise ValueError("gains_db, solo and mute must have one entry per source")
        any_solo = any(s and not m for s, m in zip(self.solo, self.mute, strict=True))
        gains = np.array(
            [0.0 if m or (any_solo and not s) else db_to_gain(g)
             for g, s, m in zip(self.gains_db, self.solo, self.mute, strict=True)],
            dtype=np.float32)
        gains.flags.writeable = False  # shared with the audio thread: never mutate
        object.__setattr__(self, "gains", gains)

    @classmethod
    def unity(cls, n: int) -> MixSettings:
        """All sources at 0 dB, none soloed or muted."""
        return cls((0.0,) * n, (False,) * n, (False,) * n)

    def with_gain_db(self, i: int, db: float) -> MixSettings:
        return replace(self, gains_db=_set(self.gains_db, i, float(db)))

    def with_solo(self, i: int, on: bool) -> MixSettings:
        return replace(self, solo=_set(self.solo, i, bool(on)))

    def with_mute(self, i: int, on: bool) -> MixSettings:
        return replace(self, mute=_set(self.mute, i, bool(on)))


def _set(values: tuple, i: int, value) -> tuple:
    return values[:i] + (value,) + values[i + 1:]


@dataclass(frozen=True)
class Transport:
    """What the GUI wants the transport to do; replaced whole on every change.

    Attributes:
        playing: the user wants sound.
        play_serial: bumped by every "play" so the mixer can tell a new play
            from the one that already ran to the end of the song.
        seek_to, seek_serial: a seek is pending while ``seek_serial`` differs
            from the last one the mixer carried out.
        loop: ``(start, end)`` in output samples, or None.
    """

    playing: bool = False
    play_serial: int = 0
    seek_to: int = 0
    seek_serial: int = 0
    loop: tuple[int, int] | None = None


class Mixer:
    """Renders stereo float32 blocks from sources, settings and transport.

    Only the audio thread calls :meth:`render`; the GUI thread only assigns
    ``settings`` / ``transport`` / ``available`` and reads ``position``,
    ``ended`` and ``levels``.

    Args:
        sample_rate: output rate (the sources must already be at this rate).
        max_block: largest block rendered in one piece.
    """

    def __init__(self, sample_rate: int, max_block: int = MAX_BLOCK) -> None:
        self.sample_rate = int(sample_rate)
        self.max_block = int(max_block)
        self.fade_len = max(1, round(FADE_SECONDS * self.sample_rate))
        self._step = 1.0 / self.fade_len
        self._ramp = np.arange(1, self.max_block + 1, dtype=np.float32)  # 1..max_block
        self._env = np.empty(self.max_block, dtype=np.float32)
        self._gain = np.empty(self.max_block, dtype=np.float32)
        self._tmp = np.empty((self.max_block, 2), dtype=np.float32)
        self._acc = np.empty((self.max_block, 2), dtype=np.float32)
        self._program = _Program(())
        self.available = 0  # samples of every source that hold finished audio
        self.settings = MixSettings.unity(0)
        self.transport = Transport()
        self.position = 0  # next output sample to render; the GUI polls it
        self.level = 0.0  # transport envelope: 0 silent .. 1 full
        self._settings_seen: MixSettings | None = None
        self._seek_serial = 0
        self._ended_serial = -1

    # -- set-up (GUI thread, while the callback may run) -------------------------------

    def set_sources(self, sources: list[np.ndarray], available: int | None = None,
                    settings: MixSettings | None = None) -> None:
        """Replace what is played; each source is ``(channels, samples)`` float32.

        Mono sources are played on both channels; beyond two channels only the
        first two are used. ``available`` limits playback to finished audio.
        """
        if not sources:
            raise ValueError("at least one source is needed")
        program = _Program(tuple(_as_float32_2d(s) for s in sources))
        n = len(program.sources)
        settings = settings or MixSettings.unity(n)
        if len(settings.gains_db) != n:
            raise ValueError("settings must have one entry per source")
        program.cur_gains[:] = settings.gains
        # Shrink ``available`` first so no block can read past a new, shorter source;
        # the callback checks that settings and program agree before using them.
        self.available = 0
        self.settings = settings
        self._program = program
        length = program.length
        self.available = length if available is None else max(0, min(int(available), length))
        self.position = min(self.position, length)

    @property
    def sources(self) -> tuple[np.ndarray, ...]:
        return self._program.sources

    @property
    def length(self) -> int:
        return self._program.length

    @property
    def levels(self) -> np.ndarray:
        """Peak (linear) of each source after its gain, over the last block."""
        return self._program.levels

    # -- audio thread ------------------------------------------------------------------

    def render(self, out: np.ndarray) -> None:
        """Fill ``out`` (frames, 2) float32 with the next block; allocates no arrays."""
        n = out.shape[0]
        done = 0
        while done < n:
            k = min(self.max_block, n - done)
            self._render_block(out[done:done + k])
            done += k

    def _render_block(self, out: np.ndarray) -> None:
        n = out.shape[0]
        acc = self._acc[:n]
        acc.fill(0.0)
        t = self.transport
        s = self.settings
        prog = self._program
        if len(s.gains) != len(prog.sources):
            out.fill(0.0)  # a swap is half done; one silent block is inaudible
            return
        g0 = prog.cur_gains
        g1 = s.gains
        gains_change = s is not self._settings_seen  # sources whose gain holds skip the ramp
        prog.levels.fill(0.0)
        length = prog.length
        pending_seek = t.seek_serial != self._seek_serial
        i = 0
        while i < n:
            if pending_seek and self.level <= 0.0:
                self.position = max(0, min(int(t.seek_to), length))
                self._seek_serial = t.seek_serial
                pending_seek = False
                if self._ended_serial == t.play_serial and self.position < length:
                    self._ended_serial = -1  # seeking back into the song re-arms play
            ended = self._ended_serial == t.play_serial
            target = 1.0 if (t.playing and not ended and not pending_seek) else 0.0
            if target == 0.0 and self.level <= 0.0:
                break  # silent for the rest of the block; the position holds
            pos = self.position
            loop = t.loop
            looping = loop is not None and loop[0] < loop[1] <= length and pos <= loop[1]
            stop_at = loop[1] if looping else length
            if pos >= stop_at:
                if looping:
                    self.position = loop[0]
                else:
                    self._ended_serial = t.play_serial
                    self.level = 0.0  # nothing is left to fade
                continue
            k = min(n - i, stop_at - pos)
            if self.level != target:
                k = min(k, max(1, math.ceil(abs(target - self.level) / self._step - 1e-6)))
            self._mix_sources(prog, acc[i:i + k], pos, i, n, g0, g1, gains_change)
            if self.level != target or self.level != 1.0:
                self._apply_envelope(acc[i:i + k], target)
            self.position = pos + k
            i += k
        if gains_change or s is not self._settings_seen:
            g0[:] = g1
            self._settings_seen = s
        out[:] = acc

    def _mix_sources(self, prog: _Program, dst: np.ndarray, pos: int, offset: int, n: int,
                     g0: np.ndarray, g1: np.ndarray, ramp: bool) -> None:
        """Add every source's ``[pos, pos+k)`` into ``dst``; gains ramp over the whole block."""
        k = dst.shape[0]
        avail = min(self.available, prog.length)
        m = max(0, min(k, avail - pos))  # frames that hold finished audio
        if m == 0:
            return
        tmp = self._tmp[:m]
        gain = self._gain[:m]
        levels = prog.levels
        for j, src in enumerate(prog.sources):
            a, b = float(g0[j]), float(g1[j])
            if ramp and a != b:
                # gain(x) = a + (b - a) * (x + 1) / n for block sample x: reaches b at block end
                np.multiply(self._ramp[offset:offset + m], (b - a) / n, out=gain)
                gain += a
                np.multiply(src[0, pos:pos + m], gain, out=tmp[:, 0])
                np.multiply(src[-1 if src.shape[0] < 2 else 1, pos:pos + m], gain,
                            out=tmp[:, 1])
            elif b != 0.0:
                np.multiply(src[0, pos:pos + m], b, out=tmp[:, 0])
                np.multiply(src[-1 if src.shape[0] < 2 else 1, pos:pos + m], b, out=tmp[:, 1])
            else:
                continue
            dst[:m] += tmp
            np.abs(tmp, out=tmp)
            peak = float(tmp.max())
            if peak > levels[j]:
                levels[j] = peak

    def _apply_envelope(self, seg: np.ndarray, target: float) -> None:
        """Multiply ``seg`` by the transport envelope, moving it towards ``target``."""
        k = seg.shape[0]
        if self.level == target:
            seg *= self.level
            return
        env = self._env[:k]
        step = self._step if target > self.level else -self._step
        np.multiply(self._ramp[:k], step, out=env)
        env += self.level
        np.clip(env, 0.0, 1.0, out=env)
        if abs(float(env[k - 1]) - target) < 1e-4:
            env[k - 1] = target  # land exactly: float32 steps do not quite add up
        seg *= env[:, None]
        self.level = float(env[k - 1])

    # -- read by the GUI thread --------------------------------------------------------

    @property
    def ended(self) -> bool:
        """True when the current play request ran to the end of the song."""
        return self._ended_serial == self.transport.play_serial


class _Program:
    """The sources and the buffers that belong to them, swapped in as one reference."""

    def __init__(self, sources: tuple[np.ndarray, ...]) -> None:
        self.sources = sources
        self.length = sources[0].shape[1] if sources else 0
        if any(s.shape[1] != self.length for s in sources):
            raise ValueError("all sources must have the same length")
        self.cur_gains = np.zeros(len(sources), dtype=np.float32)  # gains at the last block end
        self.levels = np.zeros(len(sources), dtype=np.float32)


def _as_float32_2d(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[0] < 1:
        raise ValueError("a source must be (channels, samples)")
    if a.dtype != np.float32 or not a.flags.c_contiguous:
        a = np.ascontiguousarray(a, dtype=np.float32)
    return a
