"""Display grids: what the spectrogram view draws is a faithful reduction of the STFT."""

from __future__ import annotations

import numpy as np
import pytest

from stemsplit.gui.spectrogram.display import (
    FLOOR_DB,
    MAX_COLUMNS,
    MODEL_HOP_S,
    compute_song_display,
    make_grid,
)
from stemsplit.gui.spectrogram.mask_model import MaskAccumulator, MaskPatch


def test_band_weights_average_bins_and_cover_every_row():
    grid = make_grid("log", 10.0, 22050, MODEL_HOP_S)
    w = grid.weights(2049, 44100 / 4096)
    assert w.shape == (grid.rows, 2049)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-5)
    assert (w >= 0).all()


def test_reduce_keeps_a_constant_constant_and_maps_frames_to_columns():
    grid = make_grid("linear", 5.0, 22050, MODEL_HOP_S)
    data = np.full((2, 2049, 40), 0.25, np.float32)
    first, out = grid.reduce(data, 100, MODEL_HOP_S, 44100 / 4096)
    assert first == 100  # one column per frame when dt equals the hop
    assert out.shape == (2, grid.rows, 40)
    assert out.flags.c_contiguous and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.25, rtol=1e-5)


def test_a_sine_lights_the_row_of_its_frequency(demo_audio):
    sr = 44100
    t = np.arange(3 * sr) / sr
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)[None]
    for scale in ("log", "linear"):
        song = compute_song_display(tone, sr)
        grid = song.grids[scale]
        loudest = int(np.argmax(song.db[scale][:, grid.columns // 2]))
        centre = grid.hz_of_y(grid.y_range[0] + (loudest + 0.5) / grid.rows
                              * (grid.y_range[1] - grid.y_range[0]))
        assert centre == pytest.approx(1000, rel=0.05 if scale == "log" else 0.1)
        assert song.db[scale].max() <= 0.0 and song.db[scale].min() >= FLOOR_DB


def test_a_ten_minute_song_stays_at_display_resolution():
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal((2, 44100 * 600))).astype(np.float32)
    song = compute_song_display(noise, 44100)
    for scale, grid in song.grids.items():
        assert grid.columns == MAX_COLUMNS
        assert song.db[scale].shape == (grid.rows, MAX_COLUMNS)
        assert song.db[scale].nbytes < 8 * 2**20
    assert song.duration_s == pytest.approx(600)


def test_later_patches_win_where_chunks_overlap():
    grid = {"log": make_grid("log", 2.0, 22050, MODEL_HOP_S)}
    acc = MaskAccumulator(["a", "b"], grid)
    ones = np.ones((2, grid["log"].rows, 30), np.float32)
    acc.paste(MaskPatch({"log": (0, ones)}))
    acc.paste(MaskPatch({"log": (20, ones * 0.5)}))
    masks = acc.display_masks("log")
    assert masks["a"][:, :20].min() == 1.0 and masks["a"][:, 20:50].max() == 0.5
    assert acc.covered("log")[:50].all() and not acc.covered("log")[50:].any()
    assert not acc.complete


def test_pyramid_levels_average_pairs_and_follow_updates():
    from stemsplit.gui.spectrogram.pyramid import Pyramid

    rng = np.random.default_rng(1)
    image = rng.random((8, 1001)).astype(np.float32)
    pyramid = Pyramid(image.copy())
    assert [lv.shape[1] for lv in pyramid.levels] == [1001, 501, 251]
    np.testing.assert_allclose(pyramid.levels[1][:, 3], image[:, 6:8].mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(pyramid.levels[1][:, -1], image[:, -1], rtol=1e-6)
    pyramid.base[:, 300:421] = 5.0
    pyramid.update(300, 421)
    fresh = Pyramid(pyramid.base.copy())
    for got, want in zip(pyramid.levels, fresh.levels, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert pyramid.level_for(4000, 1000) == 2 and pyramid.level_for(900, 1000) == 0
