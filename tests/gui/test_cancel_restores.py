"""A cancelled or failed first run leaves the window as it was before Separate (issue 20.1)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.conftest import load

RUN_TIMEOUT_MS = 180_000


def test_cancelled_first_run_leaves_no_half_result(qtbot, null_sink, window, long_clip):
    load(qtbot, window, long_clip)
    s, view = window.session, window.view
    assert s.masks is None and not window.stem_list.checks
    with qtbot.waitSignal(s.masksUpdated, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.run_panel.separate, Qt.LeftButton)
    assert view.masks is not None and view.masks.covered().any()   # the run was shown
    assert list(window.stem_list.checks) == ["vocals", "accompaniment"]
    with qtbot.waitSignal(s.separationCancelled, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.progress.cancel, Qt.LeftButton)
    assert not s.separating and s.stems is None
    # Nothing of the run is left: no tint, no stem rows, no partial audio, mix playing.
    assert s.masks is None and view.masks is None and s.partial_stems == {}
    assert not window.stem_list.checks and window.stem_list.hint.isVisibleTo(window.stem_list)
    assert not view.overlays
    assert not view._base_is_grey   # the spectrogram is in colour again, as before the run
    assert [window.stem_list.mode.itemData(i)
            for i in range(window.stem_list.mode.count())] == ["mix"]
    assert not window.playback.player.has_stems
    assert list(window.playback.mixer.strips) == ["mix"]   # "Original mix", as before
    assert window.edits.tools.target.count() == 0
    assert view.readout(1.0, 3.0).count("%") == 0   # the read-out shows no shares either
    assert "Separation cancelled" in window.banner.text()
