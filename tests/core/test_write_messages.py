"""What a failed write says (issue 23, item 9): the folder, the space needed and free, and a
file standing where a folder should be. Real failures: a full tmpfs, a real file in the way."""

from __future__ import annotations

import re
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from stemsplit.core.audio.export import export_stems
from stemsplit.core.errors import AudioWriteError, ModelError
from stemsplit.core.models import store as model_store
from stemsplit.core.project import ProjectError, save_project
from stemsplit.core.stems import StemSet

SR = 44100


def _stems(seconds: float) -> StemSet:
    rng = np.random.default_rng(3)
    n = int(SR * seconds)
    v = (0.1 * rng.standard_normal((2, n))).astype(np.float32)
    a = (0.1 * rng.standard_normal((2, n))).astype(np.float32)
    return StemSet(SR, {"vocals": v, "accompaniment": a}, model="2stems")


@contextmanager
def mounted_tmpfs(where: Path, size: str):
    """A tmpfs of ``size`` at ``where`` (a disk that really fills up); skips if not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True, timeout=20).returncode:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=20)


@pytest.fixture
def tiny_disk(tmp_path):
    with mounted_tmpfs(tmp_path / "tiny", "512k") as where:
        yield where


def _mb(text: str, word: str) -> float:
    return float(re.search(rf"([\d.]+) MB {word}", text).group(1))


def test_a_project_on_a_full_disk_names_the_folder_and_the_space(tiny_disk):
    stems = _stems(2.0)  # ~1.4 MB of mix and stems: more than the disk holds
    with pytest.raises(ProjectError) as info:
        save_project(tiny_disk / "p.stemsplit", song_path=None, model="2stems", stems=stems,
                     edits=[], mix=stems.stems["vocals"] + stems.stems["accompaniment"])
    text = str(info.value)
    assert text.startswith("Cannot save p.stemsplit: the disk is full"), text
    assert str(tiny_disk) in text  # which folder
    needed, free = _mb(text, "needed"), _mb(text, "free")
    assert needed >= 3 * stems.stems["vocals"].nbytes / 1e6 * 0.5  # what the file holds
    assert free < 0.6 and needed > free
    assert "No space left on device" not in text
    assert [p.name for p in tiny_disk.iterdir()] == []  # nothing half-written stays


def test_export_into_a_file_says_it_is_a_file_not_a_folder(tmp_path):
    blocker = tmp_path / "iamafile"
    blocker.write_bytes(b"not a folder")
    for folder in (blocker, blocker / "sub"):
        with pytest.raises(AudioWriteError) as info:
            export_stems(_stems(0.1), folder)
        text = str(info.value)
        assert f"{blocker} is a file, not a folder" in text, text
        assert "choose another folder" in text and "File exists" not in text
    assert blocker.read_bytes() == b"not a folder"


def test_a_project_saved_below_a_file_says_which_file(tmp_path):
    blocker = tmp_path / "iamafile"
    blocker.write_bytes(b"")
    with pytest.raises(ProjectError) as info:
        save_project(blocker / "p.stemsplit", song_path=None, model="2stems",
                     stems=_stems(0.1), edits=[])
    assert str(info.value) == f"Cannot save p.stemsplit: {blocker} is a file, not a folder"


def test_a_model_folder_that_is_a_file_is_named(tmp_path, monkeypatch):
    models = model_store.models_dir()
    models.parent.mkdir(parents=True, exist_ok=True)
    models.write_bytes(b"")  # a file where the model folder goes
    with pytest.raises(ModelError) as info:
        model_store.put_in_place("2stems", lambda folder: None)
    text = str(info.value)
    assert f"{models} is a file, not a folder" in text and "move that file away" in text
    assert "File exists" not in text
