"""Small real projects to damage: noise stems, one edit of every kind, all in a few kB."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from stemsplit.core.editing.editor import Edit, MaskEditor, Region
from stemsplit.core.project import save_project
from stemsplit.core.stems import StemSet

RATE = 8000
V, A = "vocals", "accompaniment"


def small_editor(seconds: float = 0.5, rate: int = RATE, seed: int = 0) -> MaskEditor:
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    mix = (rng.standard_normal((2, n)) * 0.1).astype(np.float32)
    v = (mix * 0.3).astype(np.float32)
    ed = MaskEditor(mix, StemSet(rate, {V: v, A: mix - v}, "2stems"))
    top = rate / 2
    ed.replay([
        Edit(Region.rect(0.1, 0.3, 100, top / 2), "assign", V),
        Edit(Region.brush([(0.2, 300.0), (0.3, 600.0)], 0.05, radius_oct=0.4), "remove", V, 0.8),
        Edit(Region.lasso([(0.05, 200.0), (0.4, 300.0), (0.3, 2000.0)], feather=0.3),
             "scale", A, 1.7),
    ])
    return ed


def write_small_project(path: Path, **kw) -> Path:
    """A valid project of :func:`small_editor` (``kw`` replaces save_project's arguments)."""
    ed = small_editor()
    args = dict(song_path=None, model="2stems", stems=ed.base_stems(), edits=ed.history,
                mixer={V: {"gain_db": -3.0, "solo": False, "mute": True}},
                view={"scale": "log", "x_range": [0.1, 0.4]}, mix=ed.mix)
    args.update(kw)
    return save_project(path, **args)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rezip(files: dict[str, bytes], manifest: dict | str | None = None,
          compression: int = zipfile.ZIP_STORED) -> bytes:
    """Zip ``files`` again, with ``manifest`` (a dict, or raw text) replacing theirs."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, body in files.items():
            if name == "manifest.json" and manifest is not None:
                body = (manifest if isinstance(manifest, str)
                        else json.dumps(manifest)).encode("utf-8", "surrogatepass")
            zf.writestr(name, body)
    return out.getvalue()


def npy_with_header(body: bytes, header: str) -> bytes:
    """An npy member whose header text is replaced (its data left as it was)."""
    hlen = int.from_bytes(body[8:10], "little")
    data = body[10 + hlen:]
    text = header.encode("latin-1")
    text += b" " * ((-(10 + len(text) + 1)) % 64) + b"\n"
    return body[:8] + len(text).to_bytes(2, "little") + text + data
