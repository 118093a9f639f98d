"""Player state that needs no sound card: sources, names, solo/mute, seeks, loops."""

from __future__ import annotations

import numpy as np
import pytest

from stemsplit.playback import MIX, Player

SR = 44100


def song(n: int = SR):
    mix = np.random.default_rng(0).standard_normal((2, n)).astype(np.float32) * 0.1
    stems = {"vocals": mix * 0.25, "accompaniment": mix * 0.75}
    return mix, stems


def test_mixture_then_stems_keep_the_position():
    p = Player()
    mix, stems = song()
    changes = []
    p.add_listener(lambda: changes.append(1))
    p.set_sources(mix, SR)
    assert p.names == (MIX,) and not p.has_stems and p.available == SR
    p.seek(1000)
    assert p.position == 1000 and p.position_s == pytest.approx(1000 / SR)
    p.set_stems(stems)
    assert p.names == ("vocals", "accompaniment") and p.has_stems
    assert p.position == 1000  # switching to stems does not move the playhead
    assert changes
    assert p.duration_s == pytest.approx(1.0)


def test_solo_mute_gain_by_name():
    p = Player()
    mix, stems = song()
    p.set_sources(mix, SR, stems)
    p.set_solo("vocals", True)
    assert p.is_solo("vocals") and p.is_audible("vocals") and not p.is_audible("accompaniment")
    p.set_mute("vocals", True)
    assert p.is_muted("vocals") and not p.is_audible("vocals")
    assert p.is_audible("accompaniment")  # no unmuted solo left: the rest sounds
    p.set_gain_db("accompaniment", -120)
    assert p.gain_db("accompaniment") == -60.0 and not p.is_audible("accompaniment")
    with pytest.raises(KeyError):
        p.set_solo("drums", True)
    # the final stems replace the growing ones: the user's settings stay
    p.set_stems({k: v.copy() for k, v in stems.items()})
    assert p.is_muted("vocals") and p.is_solo("vocals")


def test_growing_stems_must_be_writable_in_place():
    p = Player()
    mix, stems = song()
    p.set_sources(mix, SR)
    bad = {k: np.asfortranarray(v.astype(np.float64)) for k, v in stems.items()}
    with pytest.raises(ValueError, match="float32"):
        p.set_stems(bad, available=0)
    with pytest.raises(ValueError, match="samples"):
        p.set_stems({"vocals": mix[:, :10]})
    p.set_stems({k: np.zeros_like(v) for k, v in stems.items()}, available=0)
    assert p.available == 0
    p.set_available(5000)
    assert p.available == 5000
    p.set_available(10**9)
    assert p.available == SR


def test_loop_region_and_seek_are_clamped():
    p = Player()
    mix, _ = song()
    p.set_sources(mix, SR)
    p.seek(-50)
    assert p.position == 0
    p.seek(10**9)
    assert p.position == SR
    p.set_loop_region(30000, 10000)  # dragged right to left
    assert p.loop_region == (10000, 30000)
    p.set_loop_enabled(True)
    assert p._mixer.transport.loop == (10000, 30000)
    p.set_loop_region(None)
    assert p._mixer.transport.loop == (0, SR)  # no region: loop the whole song
    p.set_loop_enabled(False)
    assert p._mixer.transport.loop is None


def test_nothing_loaded_does_not_play():
    p = Player()
    assert not p.play() and not p.is_playing and p.position == 0
    assert p.levels() == {}
