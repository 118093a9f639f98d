"""The window's Wiener checkbox: remembered, and the run's stems are the post-filtered ones."""

from __future__ import annotations

import numpy as np

from tests.gui.conftest import load

RUN_TIMEOUT_MS = 180_000


def test_the_wiener_checkbox_refines_the_run_and_is_remembered(qtbot, window, short_clip,
                                                               separator):
    from stemsplit.core.engine.postfilter import refine_stems

    load(qtbot, window, short_clip)
    box = window.run_panel.wiener
    assert not box.isChecked() and not window.session.wiener  # off unless measured to help
    box.click()
    assert window.session.wiener and window.prefs.get("wiener") is True
    with qtbot.waitSignal(window.session.separationFinished, timeout=RUN_TIMEOUT_MS):
        window.run_panel.separate.click()
    qtbot.waitUntil(lambda: box.isEnabled(), timeout=10_000)
    audio = window.session.audio
    got = window.session.stems
    np.testing.assert_allclose(got.mix(), audio.samples, atol=1e-6)
    plain = separator.separate(audio.samples, audio.sample_rate)
    expected = refine_stems(plain.stems, audio.samples, 1, audio.sample_rate)
    assert np.abs(got.stems["vocals"] - plain.stems["vocals"]).max() > 1e-3
    np.testing.assert_allclose(got.stems["vocals"], expected["vocals"], atol=2e-4)
    box.click()
    assert not window.session.wiener and window.prefs.get("wiener") is False
