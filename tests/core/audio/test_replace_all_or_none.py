"""Replacing a song's stems is all or none (issue 10, item 4).

A failure halfway through replacing a set of stems must leave the old set as it
was: not the new vocals beside the old accompaniment. Both the dialog's export
(``core.export``) and the CLI's writer (``cli_export``) commit through
``audio_write.commit_all``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from stemsplit.cli.export import ExportOptions, StemStreamWriter
from stemsplit.core.audio.export import export_stems, planned_paths
from stemsplit.core.audio.write import OutputFormat
from stemsplit.core.errors import AudioWriteError
from stemsplit.core.stems import StemSet


def three_stems(n: int = 150_000) -> StemSet:
    rng = np.random.default_rng(5)
    return StemSet(44100, {s: 0.2 * rng.standard_normal((2, n)).astype(np.float32)
                           for s in ("vocals", "drums", "bass")}, model="test")


def old_set(paths: list[Path]) -> dict[Path, bytes]:
    """Stand-ins for an earlier run's stems."""
    content = {p: f"old take of {p.name}".encode() for p in paths}
    for p, data in content.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return content


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def turn_into_folder(path: Path) -> None:
    """A real failure for the rename onto ``path``: a non-empty folder there."""
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("not a stem")


def test_dialog_export_keeps_the_old_set_when_one_replace_fails(tmp_path):
    stems = three_stems()
    paths = planned_paths(stems, tmp_path)
    before = old_set(paths)
    last = paths[-1]

    def sabotage(fraction: float, name: str) -> None:
        # While the last stem is written (its writer exists), its name becomes a folder.
        if name == last.name and last.is_file():
            turn_into_folder(last)

    with pytest.raises(AudioWriteError):
        export_stems(stems, tmp_path, overwrite=True, progress=sabotage)
    for p in paths[:-1]:
        assert p.read_bytes() == before[p], f"{p.name} was replaced, the set is mixed"
    assert hidden(tmp_path) == []


def test_cli_writer_keeps_the_old_set_when_one_replace_fails(tmp_path):
    stems = three_stems(50_000)
    outputs = {s: tmp_path / f"{s}.wav" for s in stems.names}
    before = old_set(list(outputs.values()))
    writer = StemStreamWriter(outputs, 44100, 2, stems.length, ExportOptions(), overwrite=True)
    writer.write(stems.stems)
    turn_into_folder(outputs["bass"])
    with pytest.raises(AudioWriteError):
        writer.commit()
    for stem in ("vocals", "drums"):
        assert outputs[stem].read_bytes() == before[outputs[stem]]
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("failure, raised", [
    (OSError(errno.EIO, "Input/output error"), AudioWriteError),
    (KeyboardInterrupt(), KeyboardInterrupt),
], ids=["io-error", "interrupt"])
def test_a_failed_move_rolls_back_every_replaced_and_new_file(tmp_path, monkeypatch, failure,
                                                              raised):
    """The last rename fails after the others went through: everything is put back.

    A rename that fails at exactly that moment cannot be provoked for real, so
    ``os.replace`` fails (or is interrupted) when the last new file moves in.
    """
    stems = three_stems()
    paths = planned_paths(stems, tmp_path)
    before = old_set([paths[0], paths[2]])  # the middle stem is new to this folder
    real_replace = os.replace

    def flaky(src, dst, *args, **kwargs):
        if Path(dst) == paths[2] and Path(src).name.endswith(".partial"):
            raise failure
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(raised):
        export_stems(stems, tmp_path, overwrite=True)
    monkeypatch.undo()
    assert paths[0].read_bytes() == before[paths[0]]
    assert not paths[1].exists()
    assert paths[2].read_bytes() == before[paths[2]]
    assert hidden(tmp_path) == []


def test_a_successful_replace_leaves_only_the_new_set(tmp_path):
    stems = three_stems(20_000)
    paths = planned_paths(stems, tmp_path, fmt=OutputFormat("flac", "16"))
    old_set(paths[:2])
    written = export_stems(stems, tmp_path, fmt=OutputFormat("flac", "16"), overwrite=True)
    assert written == paths
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in paths)
    assert all(p.read_bytes()[:4] == b"fLaC" for p in paths)
