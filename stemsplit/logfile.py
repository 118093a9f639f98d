"""The log file: what went wrong, kept where a user can find it and send it; no Qt.

``setup()`` is called once where the window and the CLI start. It writes stemsplit's
log (INFO and above, tracebacks included) to ``stemsplit.log`` in platformdirs' user
log folder (``$STEMSPLIT_HOME/log`` in tests), rotated at :data:`MAX_BYTES` with
:data:`BACKUPS` old files kept, so it never grows without bound. Warnings still reach
the terminal as they did before there was a log file. A folder that cannot be written
costs only the log, never the start.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import platformdirs

from stemsplit.settings import APP, home_override

MAX_BYTES = 1 << 20
BACKUPS = 3
FILE_NAME = f"{APP}.log"
FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"

_handler: logging.Handler | None = None


def log_dir() -> Path:
    home = home_override()
    return home / "log" if home else Path(platformdirs.user_log_dir(APP))


def log_path() -> Path:
    """Where the log is written (or would be)."""
    return log_dir() / FILE_NAME


class _Stderr(logging.StreamHandler):
    """Warnings to whatever ``sys.stderr`` is now, as Python's last-resort handler does."""

    def __init__(self) -> None:
        super().__init__()
        self.setLevel(logging.WARNING)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class _File(logging.handlers.RotatingFileHandler):
    def handleError(self, record) -> None:  # noqa: N802 (logging's name)
        pass  # a full or vanished log folder costs the log line, never a traceback


def setup() -> Path | None:
    """Send stemsplit's log to the rotating file (once per process).

    Returns:
        The log file's path, or None when its folder cannot be written.
    """
    global _handler
    root = logging.getLogger()
    if _handler is not None and _handler in root.handlers:
        return log_path()
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _File(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True)
    except OSError:
        return None
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    if not root.handlers:  # keep the terminal's warnings once a handler exists
        root.addHandler(_Stderr())
    root.addHandler(handler)
    logging.getLogger(APP).setLevel(logging.INFO)
    _handler = handler
    return path


def where() -> str:
    """A few words for messages: "the log (/home/me/.local/state/stemsplit/log/stemsplit.log)"."""
    if _handler is None:
        return "the log"
    return f"the log ({getattr(_handler, 'baseFilename', log_path())})"
