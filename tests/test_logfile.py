"""The rotating log file (issue 22, item 19: "details are in the log" needs a log)."""

from __future__ import annotations

import logging

import pytest

from stemsplit import logfile


@pytest.fixture
def fresh_log():
    """No log handler of ours before or after the test (each test sets up its own)."""
    def drop():
        root = logging.getLogger()
        for h in list(root.handlers):
            if isinstance(h, (logfile._File, logfile._Stderr)):
                root.removeHandler(h)
                h.close()
        logfile._handler = None
    drop()
    yield
    drop()


def test_errors_and_tracebacks_go_to_the_user_log_folder(fresh_log, tmp_path, monkeypatch):
    monkeypatch.setenv("STEMSPLIT_HOME", str(tmp_path))
    path = logfile.setup()
    assert path == tmp_path / "log" / "stemsplit.log" == logfile.log_path()
    assert logfile.setup() == path  # once: no second handler
    assert sum(isinstance(h, logfile._File) for h in logging.getLogger().handlers) == 1
    try:
        raise ValueError("a broken value")
    except ValueError:
        logging.getLogger("stemsplit.gui.app").error("unexpected error", exc_info=True)
    logging.getLogger("stemsplit.core.project").info("opened x.stemsplit")
    text = path.read_text(encoding="utf-8")
    assert "unexpected error" in text and "ValueError: a broken value" in text
    assert "Traceback" in text and "opened x.stemsplit" in text
    assert str(path) in logfile.where()


def test_the_log_is_rotated_and_bounded(fresh_log, tmp_path, monkeypatch):
    monkeypatch.setenv("STEMSPLIT_HOME", str(tmp_path))
    path = logfile.setup()
    log = logging.getLogger("stemsplit.test")
    for i in range(6 * logfile.MAX_BYTES // 1000):
        log.info("%05d %s", i, "x" * 1000)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["stemsplit.log", *(f"stemsplit.log.{i}" for i in range(1, 4))]
    assert all(p.stat().st_size <= logfile.MAX_BYTES for p in path.parent.iterdir())


def test_warnings_still_reach_the_terminal(fresh_log, tmp_path, monkeypatch, capsys):
    """As Python's last-resort handler printed them before there was a log file."""
    monkeypatch.setenv("STEMSPLIT_HOME", str(tmp_path))
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as outside pytest
    logfile.setup()
    logging.getLogger("stemsplit.settings").warning("settings file is a FIFO")
    logging.getLogger("stemsplit.settings").info("not for the terminal")
    err = capsys.readouterr().err
    assert "settings file is a FIFO" in err and "not for the terminal" not in err


def test_an_unwritable_log_folder_costs_only_the_log(fresh_log, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("STEMSPLIT_HOME", str(blocker))  # log/ cannot be made under a file
    assert logfile.setup() is None
    logging.getLogger("stemsplit.x").error("still fine")
    assert logfile.where() == "the log"


def test_the_command_line_sets_up_the_log(fresh_log, tmp_path, monkeypatch, capsys):
    from stemsplit.cli.main import main

    monkeypatch.setenv("STEMSPLIT_HOME", str(tmp_path))
    assert main(["-h"]) == 0
    assert logfile._handler is not None and str(tmp_path / "log") in logfile.where()
