"""A change's masks reach the GUI thread as one patch (issue 20.7 / 23.7): the whole-song
redraw after opening a project was ~1200 patches pasted and redrawn one by one on the
GUI thread of a 30-minute song. The merged patch must draw exactly what pasting the
pieces in turn drew."""

from __future__ import annotations

import numpy as np

from tests.gui.test_long_song_memory import _separate, _step


def test_one_merged_patch_draws_what_the_pieces_drew(qtbot, window, long_clip, tmp_path):
    from stemsplit.core.editing.editor import Edit, Region
    from stemsplit.gui.spectrogram.mask_model import MaskAccumulator, patch_from_block

    applier = window.edits.applier
    applier.spill_to = tmp_path / "scratch"
    _separate(qtbot, window, long_clip)
    s = window.session
    pasted: list = []
    real_paste = s.masks.paste
    s.masks.paste = lambda patch: pasted.append(patch) or real_paste(patch)
    _step(qtbot, applier,
          lambda: applier.apply(Edit(Region.rect(5.0, 45.0, 200, 9000), "assign", "vocals")))
    assert len(pasted) == 1  # one paste, one redraw, for 40 s of edit

    editor, grids = applier.editor, s.display.grids
    expected = MaskAccumulator(list(s.masks.stems), grids)
    for scale in grids:
        expected.array(scale)[:] = s.masks.array(scale)
    a, b = applier._whole_columns(editor, applier.last_range)
    pieces = [patch_from_block(block, grids) for block in editor.mask_blocks(a, b)]
    assert len(pieces) > 10
    for piece in pieces:
        expected.paste(piece)
    for scale in grids:
        np.testing.assert_array_equal(s.masks.array(scale), expected.array(scale))
