"""A long song's stems are held once (issue 23, item 6): the editor's untouched base stems
live in a memory-mapped scratch file, the separation's own arrays are the ones edited.

Checked on a short real separation in the real window: where the arrays' memory comes
from, and that nothing the base is used for (clear, the crash-recovery snapshot) sees
edited audio.
"""

from __future__ import annotations

import mmap

import numpy as np

from tests.gui.conftest import load

RUN_TIMEOUT_MS = 180_000


def _backed_by_mmap(a: np.ndarray) -> bool:
    while a is not None:
        if isinstance(a, mmap.mmap):
            return True
        a = a.obj if isinstance(a, memoryview) else getattr(a, "base", None)
    return False


def _separate(qtbot, window, path) -> dict[str, np.ndarray]:
    """Separate ``path``; returns copies of the stems as the run left them."""
    load(qtbot, window, path)
    first: dict = {}
    window.session.separationFinished.connect(
        lambda st: first.update({k: v.copy() for k, v in st.stems.items()}))
    applier = window.edits.applier
    with qtbot.waitSignal(applier.ready, timeout=60_000):
        window.separate()
    qtbot.waitUntil(lambda: not applier.worker.busy, timeout=60_000)
    return first


def _step(qtbot, applier, do) -> None:
    with qtbot.waitSignal(applier.changed, timeout=60_000):
        do()


def test_base_stems_are_mapped_and_the_run_arrays_are_edited(qtbot, window, short_clip,
                                                             tmp_path):
    from stemsplit.core.editing.editor import Edit, Region
    from stemsplit.core.project import load_project

    applier = window.edits.applier
    applier.spill_to = tmp_path / "scratch"
    first = _separate(qtbot, window, short_clip)
    editor, s = applier.editor, window.session
    base = editor.base_stems().stems
    for name, a in editor.stems().stems.items():
        assert _backed_by_mmap(base[name]), f"base {name} is in RAM"
        assert not _backed_by_mmap(a)
        # no second copy: the editor edits the arrays the separation filled
        assert np.shares_memory(a, s.partial_stems[name])
        assert np.array_equal(base[name], first[name])
    assert list((tmp_path / "scratch").iterdir()) == []  # unlinked once mapped

    # An edit at once: the recovery writer may still be copying the same arrays.
    _step(qtbot, applier,
          lambda: applier.apply(Edit(Region.rect(0.5, 2.5, 300, 8000), "assign", "vocals")))
    assert not np.array_equal(s.stems.stems["vocals"], first["vocals"])
    for name in first:
        assert np.array_equal(editor.base_stems().stems[name], first[name])
    assert window.recovery.flush(60)
    snapshot = load_project(window.recovery._folder.folder / "base.stemsplit")
    for name, a in snapshot.stems.stems.items():
        assert np.array_equal(a, first[name]), f"the recovery base holds an edited {name}"

    # Clearing every edit reads the mapped base: bit for bit the separation again.
    _step(qtbot, applier, lambda: applier.clear(None))
    for name, a in s.stems.stems.items():
        assert np.array_equal(a, first[name])
    applier.spilled.drop_pages()  # giving pages back never changes what is read
    assert np.array_equal(editor.base_stems().stems["vocals"], first["vocals"])


def test_a_saved_project_reopens_with_its_base_out_of_ram(qtbot, window, short_clip,
                                                          tmp_path):
    from stemsplit.core.editing.editor import Edit, Region

    applier = window.edits.applier
    applier.spill_to = tmp_path / "scratch"
    first = _separate(qtbot, window, short_clip)
    _step(qtbot, applier,
          lambda: applier.apply(Edit(Region.rect(1.0, 3.0, 500, 5000), "remove", "vocals")))
    edited = {k: v.copy() for k, v in window.session.stems.stems.items()}
    project = tmp_path / "p.stemsplit"
    assert window.projects.save_to(project)
    window.projects.set_dirty(False)
    ready: list = []
    applier.ready.connect(lambda: ready.append(1))
    window.open_path(project)
    qtbot.waitUntil(lambda: bool(ready) and not applier.worker.busy, timeout=60_000)
    editor = applier.editor
    for name in first:
        assert _backed_by_mmap(editor.base_stems().stems[name])
        assert np.array_equal(editor.base_stems().stems[name], first[name])
        assert np.array_equal(window.session.stems.stems[name], edited[name])
