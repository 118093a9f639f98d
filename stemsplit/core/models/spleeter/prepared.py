"""The U-Nets as the fused network runs them, kept in the user cache and read back in one go.

Building ``FusedStemUNets`` from stored weights (make the nn.Module, copy the
arrays in, fold the batch-norms in float64, rewrite the kernels, cast) cost
0.6-2 s on 2 cores at every start: more than the network takes for a minute of
audio. The result depends only on the weights, the U-Net's config, the dtype and
this code, so it is saved once as safetensors beside the fast copy of the built-in
weights and read back on the next start (~0.1 s), without reading the original
weights at all. The key is the weight files' identity (path, size, mtime, as the
built-in copy's), the model and dtype, and the compiled code of the modules that do the
folding, so editing them can never leave a stale network behind. A CRC32 over the
tensor bytes is checked on every read: a flipped bit on disk must not become
wrong stems forever; a damaged or unreadable file is simply rebuilt.

Only models whose ``load_weights`` says which files it reads (``sources.WeightFiles``)
are cached; a model being trained hands its weights from memory and is built.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zlib
from collections.abc import Callable
from pathlib import Path

import torch

from stemsplit.core.models.spleeter.folded_conv import FoldedConv
from stemsplit.core.models.spleeter.fused import FusedStemUNets, FusedUNet

log = logging.getLogger(__name__)

FORMAT = "stemsplit-fused-unets-3"  # 3: stride-2 encoder, transposed decoder layers
# what the cached tensors are computed by
_CODE = ("stemsplit.core.models.spleeter.fused", "stemsplit.core.models.spleeter.folded_conv",
         "stemsplit.core.models.spleeter.unet", "stemsplit.core.models.spleeter.prepared")
_CONV_FIELDS = ("weight", "bias", "raw_weight", "shift")


def cache_folder() -> Path:
    from stemsplit import settings
    from stemsplit.core.models.weights_file import BUILTIN_CACHE_ENV

    base = os.environ.get(BUILTIN_CACHE_ENV) or settings.cache_dir() / "models" / ".builtin"
    return Path(base) / "fused"


def cache_key(info, dtype: torch.dtype) -> str | None:
    """What the fused tensors depend on, hashed; None when the weights have no files."""
    files = getattr(info.load_weights, "files", None)
    if files is None:
        return None
    try:
        paths = files()
        ident = [f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths]
    except OSError:
        return None  # a missing file: loading the weights says why
    code = code_fingerprint()
    if code is None:
        return None
    text = json.dumps([FORMAT, info.name, len(info.stems), repr(info.unet), str(dtype),
                       torch.__version__, ident, code])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def code_fingerprint() -> str | None:
    """A hash of the compiled code of the modules that compute the cached tensors.

    Compiled code, not the .py files: the packaged app has no sources (PyInstaller
    keeps bytecode only), and a key that needs them would rebuild at every start.
    None when a loader cannot give its code (the network is then built each time).
    """
    import importlib
    import marshal

    digest = hashlib.sha256()
    for name in _CODE:
        module = importlib.import_module(name)
        loader = getattr(module.__spec__, "loader", None)
        try:
            code = loader.get_code(name)
        except (AttributeError, ImportError, OSError):
            return None
        if code is None:
            return None
        digest.update(marshal.dumps(code))
    return digest.hexdigest()


def fused_unets(info, dtype: torch.dtype, device: torch.device,
                build: Callable[[], FusedStemUNets]) -> FusedStemUNets:
    """The model's fused U-Nets on ``device``: from the cache, else ``build()`` (and kept)."""
    key = cache_key(info, dtype)
    if key is None:
        return build()
    path = cache_folder() / f"{info.name}-{str(dtype).removeprefix('torch.')}-{key}.safetensors"
    if path.is_file():
        try:
            return _read(path, key, info, dtype, device)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            log.info("rebuilding the fused U-Nets at %s: %s", path, exc)
    fused = build()
    try:
        _write(path, key, fused)
        for old in path.parent.glob(f"{info.name}-{str(dtype).removeprefix('torch.')}-*"):
            if old != path and old.suffix == ".safetensors":
                old.unlink()
    except (OSError, RuntimeError) as exc:  # only costs speed on the next start
        log.info("cannot keep the fused U-Nets in %s: %s", path.parent, exc)
    return fused


def _conv_tensors(prefix: str, conv: FoldedConv, out: dict) -> list[int]:
    for name in _CONV_FIELDS:
        value = getattr(conv, name)
        if value is None:
            continue
        if name == "weight":  # channels_last, stored in its memory order (NHWC)
            value = value.permute(0, 2, 3, 1)
        out[f"{prefix}.{name}"] = value.detach().to("cpu").contiguous()
    return [conv.padding, conv.dilation, conv.stride, conv.transposed]


def _write(path: Path, key: str, fused: FusedStemUNets) -> None:
    from safetensors.torch import save

    from stemsplit.core.models.weights_file import write_atomically

    tensors: dict[str, torch.Tensor] = {}
    layout: dict = {"sigmoid_head": fused.sigmoid_head, "nets": []}
    for n, net in enumerate(fused.nets):
        parts = net.parts()
        convs = {}
        for i, conv in enumerate(parts["encoder"]):
            convs[f"enc{i}"] = _conv_tensors(f"{n}.enc{i}", conv, tensors)
            bn = parts["encoder_bn"][i]
            if bn is not None:
                tensors[f"{n}.enc{i}.bn_scale"], tensors[f"{n}.enc{i}.bn_shift"] = \
                    (v.to("cpu").contiguous() for v in bn)
        for k, conv in enumerate(parts["decoder"]):
            convs[f"dec{k}"] = _conv_tensors(f"{n}.dec{k}", conv, tensors)
        convs["head"] = _conv_tensors(f"{n}.head", parts["head"], tensors)
        layout["nets"].append({"convs": convs, "skip_channels": parts["skip_channels"],
                               "encoders": len(parts["encoder"]),
                               "decoders": len(parts["decoder"])})
    meta = {"format": FORMAT, "key": key, "layout": json.dumps(layout)}
    blob = save(tensors, meta)
    crc = zlib.crc32(memoryview(blob)[_data_start(blob):])
    del blob  # one copy of the file in memory at a time (this runs in a separation)
    blob = save(tensors, {**meta, "crc32": str(crc)})  # same tensor bytes, longer header
    write_atomically(path, lambda tmp: tmp.write_bytes(blob))


def _data_start(blob: bytes) -> int:
    return 8 + int.from_bytes(blob[:8], "little")


def _read(path: Path, key: str, info, dtype: torch.dtype, device: torch.device
          ) -> FusedStemUNets:
    from safetensors.torch import load

    blob = path.read_bytes()
    header = json.loads(blob[8: _data_start(blob)])
    meta = header.get("__metadata__") or {}
    if meta.get("format") != FORMAT or meta.get("key") != key:
        raise ValueError("made for other weights")
    if str(zlib.crc32(memoryview(blob)[_data_start(blob):])) != meta.get("crc32"):
        raise ValueError("checksum mismatch")
    tensors = load(blob)
    layout = json.loads(meta["layout"])
    if len(layout["nets"]) != len(info.stems):
        raise ValueError("another number of stems")
    nets = []
    for n, spec in enumerate(layout["nets"]):
        def conv(name: str, n=n, spec=spec) -> FoldedConv:
            got = {f: tensors.get(f"{n}.{name}.{f}") for f in _CONV_FIELDS}
            got["weight"] = got["weight"].to(device).permute(0, 3, 1, 2)  # channels_last again
            got["bias"] = got["bias"].to(device)
            padding, dilation, stride, transposed = spec["convs"][name]
            return FoldedConv(got["weight"], got["bias"], padding, dilation,
                              got["raw_weight"], got["shift"], stride, bool(transposed))

        bns = []
        for i in range(spec["encoders"]):
            scale = tensors.get(f"{n}.enc{i}.bn_scale")
            bns.append(None if scale is None else
                       (scale.to(device), tensors[f"{n}.enc{i}.bn_shift"].to(device)))
        parts = {"encoder": [conv(f"enc{i}") for i in range(spec["encoders"])],
                 "encoder_bn": bns,
                 "decoder": [conv(f"dec{k}") for k in range(spec["decoders"])],
                 "skip_channels": list(spec["skip_channels"]), "head": conv("head")}
        nets.append(FusedUNet.assemble(info.unet, dtype, device, parts))
    return FusedStemUNets(None, dtype, device, fused=nets, sigmoid_head=layout["sigmoid_head"])
