"""Map Spleeter's TensorFlow variable names onto our U-Net's parameter names.

Spleeter builds one U-Net per stem (``apply_unet`` in its ``unet.py``) inside a
single Keras graph, so layer names are numbered globally in construction order:

- Conv2D: conv1..conv6 of the encoder, then the 4x4 head, i.e. 7 per U-Net
  (``conv2d``, ``conv2d_1`` .. ``conv2d_5``, head ``conv2d_6``; the next U-Net
  starts at ``conv2d_7``).
- Conv2DTranspose: up1..up6, i.e. 6 per U-Net.
- BatchNormalization: batch1..batch6 after each encoder conv, then batch7..batch12
  after each decoder activation, i.e. 12 per U-Net (encoder 0-5, decoder 6-11).

The same construction order holds for ``softmax_unet`` (the head just has no
sigmoid), and for every stem count; only the stem order comes from the model's
configuration. Kernels go from TensorFlow's HWIO (Conv2D) / HWOI
(Conv2DTranspose) to PyTorch's OIHW / IOHW with the same ``permute(3, 2, 0, 1)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from stemsplit.core.errors import ModelError

CONVS_PER_UNET = 7
DECONVS_PER_UNET = 6
BNS_PER_UNET = 12

# Keras BatchNormalization variable -> PyTorch BatchNorm2d parameter/buffer.
_BN_FIELDS = {"gamma": "weight", "beta": "bias",
              "moving_mean": "running_mean", "moving_variance": "running_var"}


def _tf_name(layer: str, index: int) -> str:
    return layer if index == 0 else f"{layer}_{index}"


def unet_name_map(stem_index: int) -> dict[str, str]:
    """TensorFlow variable name -> our parameter name for the ``stem_index``-th U-Net."""
    names: dict[str, str] = {}
    conv0 = stem_index * CONVS_PER_UNET
    deconv0 = stem_index * DECONVS_PER_UNET
    bn0 = stem_index * BNS_PER_UNET
    for i in range(6):
        conv = _tf_name("conv2d", conv0 + i)
        names[f"{conv}/kernel"] = f"down{i + 1}_conv.1.weight"
        names[f"{conv}/bias"] = f"down{i + 1}_conv.1.bias"
        bn = _tf_name("batch_normalization", bn0 + i)
        for tf_field, torch_field in _BN_FIELDS.items():
            names[f"{bn}/{tf_field}"] = f"down{i + 1}_act.0.{torch_field}"
        deconv = _tf_name("conv2d_transpose", deconv0 + i)
        names[f"{deconv}/kernel"] = f"up{i + 1}.0.weight"
        names[f"{deconv}/bias"] = f"up{i + 1}.0.bias"
        bn = _tf_name("batch_normalization", bn0 + 6 + i)
        for tf_field, torch_field in _BN_FIELDS.items():
            names[f"{bn}/{tf_field}"] = f"up{i + 1}.3.{torch_field}"
    head = _tf_name("conv2d", conv0 + 6)
    names[f"{head}/kernel"] = "up7.0.weight"
    names[f"{head}/bias"] = "up7.0.bias"
    return names


def _to_torch(value: np.ndarray) -> np.ndarray:
    if value.ndim == 4:
        value = value.transpose(3, 2, 0, 1)
    return np.ascontiguousarray(value, dtype=np.float32)


@lru_cache(maxsize=1)
def unet_shapes() -> dict[str, tuple[int, ...]]:
    """Our U-Net's parameter and buffer shapes (PyTorch layout), the same for every stem count.

    Built on torch's meta device: no memory is allocated for the weights.
    """
    import torch

    from stemsplit.core.models.spleeter.unet import UNet

    with torch.device("meta"):
        state = UNet().state_dict()
    return {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}


def count_unets(variables: dict[str, np.ndarray]) -> int:
    """How many U-Nets a Spleeter checkpoint holds (from its transposed convolutions)."""
    n_deconv = sum(1 for k in variables
                   if k.startswith("conv2d_transpose") and k.endswith("/kernel"))
    return n_deconv // DECONVS_PER_UNET


def convert_spleeter(variables: dict[str, np.ndarray], n_stems: int) -> list[dict[str, np.ndarray]]:
    """Turn a Spleeter checkpoint's variables into one state dict per stem.

    Args:
        variables: as returned by ``tf_checkpoint.read_checkpoint``.
        n_stems: stems the model configuration declares (2, 4 or 5).

    Returns:
        One dict per stem, in Spleeter's instrument order, of float32 arrays
        named like our ``UNet``'s state dict (without ``num_batches_tracked``).

    Raises:
        ModelError: the checkpoint holds a different number of U-Nets, lacks a
            variable (e.g. a 4-stem archive installed under the 5-stem name), or
            holds one of a shape the U-Net cannot load (checked here, at install,
            not first at ``separate``).
    """
    found = count_unets(variables)
    if found != n_stems:
        raise ModelError(f"the checkpoint holds {found} U-Nets, but the model needs {n_stems}; "
                         "was the wrong archive installed?")
    shapes = unet_shapes()
    used: set[str] = set()
    out: list[dict[str, np.ndarray]] = []
    for stem in range(n_stems):
        state: dict[str, np.ndarray] = {}
        for tf_key, torch_key in unet_name_map(stem).items():
            if tf_key not in variables:
                raise ModelError(f"the checkpoint lacks {tf_key}; it is not a Spleeter U-Net")
            value = variables[tf_key]
            expected = shapes[torch_key]
            if value.ndim != len(expected) or (value.ndim == 4 and tuple(
                    value.shape[i] for i in (3, 2, 0, 1)) != expected) or (
                    value.ndim != 4 and value.shape != expected):
                raise ModelError(f"the checkpoint's {tf_key} has shape {value.shape}, which "
                                 "does not fit the Spleeter U-Net; the archive is damaged or "
                                 "not a Spleeter model")
            state[torch_key] = _to_torch(value)
            if not np.isfinite(state[torch_key]).all():
                raise ModelError(f"the checkpoint's {tf_key} holds NaN or infinite values; "
                                 "the archive is damaged")
            used.add(tf_key)
        out.append(state)
    left = sorted(set(variables) - used)
    if left:
        raise ModelError(f"the checkpoint holds variables this U-Net does not use: {left[:3]}")
    return out
