"""Drag a stem out of the window: a WAV of it lands in the DAW or file manager.

A drop target gets a file URL, so the stem must exist as a file before the
drag starts: an already exported file is used as it is, otherwise the stem
is rendered once into a drag folder in the user cache. DAWs may keep
referring to the dropped file instead of copying it, so these files are not
deleted when the program exits; ones older than ``KEEP_DAYS`` are swept when
a new one is made.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import QColor, QDrag, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

from stemsplit.core.audio.export import DEFAULT_PATTERN, expand_pattern, peak_of
from stemsplit.core.audio.write import OutputFormat, write_audio
from stemsplit.core.stems import StemSet
from stemsplit.settings import cache_dir

KEEP_DAYS = 7


def drag_folder() -> Path:
    return cache_dir() / "drag"


def stem_drag_file(stemset: StemSet, stem: str, song_name: str,
                   exported: Mapping[str, Path] | None = None,
                   folder: Path | None = None) -> Path:
    """A WAV file holding ``stem``, ready to be dropped somewhere.

    Args:
        stemset: the separated song.
        stem: which stem.
        song_name: for the file name (``<song> - <stem>.wav``, as an export names it).
        exported: stem -> file already exported; used when it still exists.
        folder: where to render; default the cache's drag folder.

    Returns:
        The file's path: 24-bit WAV at the original rate, sample-aligned and as
        long as the original; 32-bit float instead when the stem peaks above
        full scale, so a drag never clips.
    """
    if stem not in stemset.stems:
        raise KeyError(f"no stem named {stem!r}")
    if exported and stem in exported and Path(exported[stem]).is_file():
        return Path(exported[stem])
    audio = stemset.stems[stem]
    fmt = OutputFormat("wav", "32f" if peak_of([audio]) > 1.0 else "24")
    # One subfolder per distinct audio: a new separation never reuses an old file,
    # and dragging the same stem twice renders it once.
    key = hashlib.blake2b(audio.tobytes(), digest_size=8).hexdigest()
    where = (folder or drag_folder()) / key
    path = where / expand_pattern(DEFAULT_PATTERN, song=song_name, stem=stem, fmt=fmt,
                                  model=stemset.model, rate=stemset.sample_rate)
    if not path.is_file():
        _sweep(folder or drag_folder())
        write_audio(path, audio, stemset.sample_rate, fmt)
    return path


def stem_mime_data(path: Path) -> QMimeData:
    """Mime data with the file URL that file managers and DAWs accept."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    return mime


def make_stem_drag(widget: QWidget, stemset: StemSet, stem: str, song_name: str,
                   exported: Mapping[str, Path] | None = None) -> QDrag:
    """A ready-to-run QDrag carrying one stem's file URL."""
    path = stem_drag_file(stemset, stem, song_name, exported)
    drag = QDrag(widget)
    drag.setMimeData(stem_mime_data(path))
    with contextlib.suppress(Exception):  # a pixmap is a nicety: no grab on some platforms
        pixmap = drag_pixmap(widget, path.name)
        if not pixmap.isNull():
            drag.setPixmap(pixmap)
            drag.setHotSpot(QPoint(12, pixmap.height() // 2))
    return drag


def drag_pixmap(widget: QWidget, file_name: str) -> QPixmap:
    """What follows the mouse: the dragged row as it looks, over the file's name."""
    row = widget.grab()
    scale = row.devicePixelRatio() or 1.0
    width = max(row.width() / scale, widget.fontMetrics().horizontalAdvance(file_name) + 16)
    height = row.height() / scale + widget.fontMetrics().height() + 8
    out = QPixmap(int(width * scale), int(height * scale))
    out.setDevicePixelRatio(scale)
    out.fill(QColor(0, 0, 0, 0))
    painter = QPainter(out)
    try:
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(30, 34, 42, 230))
        painter.drawRoundedRect(QRectF(0, 0, width, height), 6, 6)
        painter.drawPixmap(QPointF(4, 2), row)
        painter.setPen(QColor(220, 224, 232))
        painter.drawText(QRectF(8, row.height() / scale + 2, width - 12,
                                widget.fontMetrics().height() + 4),
                         Qt.AlignLeft | Qt.AlignVCenter, file_name)
    finally:
        painter.end()
    return out


def start_stem_drag(widget: QWidget, stemset: StemSet, stem: str, song_name: str,
                    exported: Mapping[str, Path] | None = None) -> QDrag:
    """Start dragging one stem out of ``widget`` (call from its mouseMoveEvent).

    Blocks in Qt's drag loop until the drop or the cancel, like every QDrag.
    """
    drag = make_stem_drag(widget, stemset, stem, song_name, exported)
    drag.exec(Qt.CopyAction)
    return drag


def _sweep(folder: Path) -> None:
    """Remove drag renders older than KEEP_DAYS; failures are harmless."""
    if not folder.is_dir():
        return
    cutoff = time.time() - KEEP_DAYS * 86400
    for sub in folder.iterdir():
        with contextlib.suppress(OSError):
            if sub.is_dir() and sub.stat().st_mtime < cutoff:
                for f in sub.iterdir():
                    f.unlink()
                sub.rmdir()
