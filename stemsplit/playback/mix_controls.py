"""Per-source mixer controls of the player: gain, solo, mute and level meters.

Kept apart from the transport and device handling in ``player.py``. Every change
is one swap of the mixer's immutable settings, so the audio callback sees all of
it or none of it.
"""

from __future__ import annotations

from stemsplit.playback.mixer import MIN_DB, Mixer, MixSettings


class MixControls:
    """Gain / solo / mute by source name, for a class that provides ``_mixer`` (a
    Mixer), ``_names`` (the sources' names, in the mixer's order), ``_changed()``
    (tells listeners) and ``is_playing``."""

    _mixer: Mixer
    _names: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The sources' names: the stems, or ``("mix",)`` before separation."""
        return self._names

    @property
    def settings(self) -> MixSettings:
        return self._mixer.settings

    def _index(self, name: str) -> int:
        try:
            return self._names.index(name)
        except ValueError:
            raise KeyError(f"no source called {name!r}") from None

    def _swap(self, settings: MixSettings) -> None:
        self._mixer.settings = settings  # one reference swap: the callback sees all or nothing
        self._changed()

    def gain_db(self, name: str) -> float:
        return self.settings.gains_db[self._index(name)]

    def set_gain_db(self, name: str, db: float) -> None:
        """Set one source's fader; ``MIN_DB`` or below is silence."""
        self._swap(self.settings.with_gain_db(self._index(name), max(MIN_DB, float(db))))

    def is_solo(self, name: str) -> bool:
        return self.settings.solo[self._index(name)]

    def set_solo(self, name: str, on: bool) -> None:
        self._swap(self.settings.with_solo(self._index(name), on))

    def is_muted(self, name: str) -> bool:
        return self.settings.mute[self._index(name)]

    def set_mute(self, name: str, on: bool) -> None:
        self._swap(self.settings.with_mute(self._index(name), on))

    def is_audible(self, name: str) -> bool:
        """Whether the source is heard now (solo / mute / fader considered)."""
        return bool(self.settings.gains[self._index(name)] > 0.0)

    def levels(self) -> dict[str, float]:
        """Peak level (linear, after gain) of each source over the last audio block."""
        lv = self._mixer.levels
        if len(lv) != len(self._names) or not self.is_playing:
            return {n: 0.0 for n in self._names}
        return {n: float(v) for n, v in zip(self._names, lv, strict=True)}
