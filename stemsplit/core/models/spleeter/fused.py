"""Spleeter's U-Net rewritten for inference: batch-norm folded away, copies fused.

Every rewrite is exact in real arithmetic (only rounding differs from
``UNet.forward``, which stays the reference):

- Encoder: batch-norm follows the convolution directly, so it is folded into the
  kernel and bias; the convolution yields ``z' = a z + b`` instead of ``z``.
- The skip connections want ``z``, the decoder's batch-norm follows its
  activation: both are affine maps ``x -> s x + t`` on a convolution's *input*.
  They move into that convolution: the kernel is scaled per input channel and
  the constant's contribution becomes bias. Zero padding stands for "no input"
  there, so on the border rows and columns the constant counts less; a
  correction per input shape is added to those few rows and columns only.
- The pixel (un)shuffle, the activation and the concatenation with the skip
  happen in one strided write into the next layer's input buffer.
- Encoder layers 2-6 run their 5x5 stride-2 kernels on a buffer whose zero
  border is TensorFlow's 'same' padding (25 taps per output, not the 36 of the
  unshuffled 3x3 form); decoder layers 1-4 run as transposed convolutions, with
  bias and folded constant as one cached map per input size (what the constant
  adds varies by output phase). Network per 512 x 1024 chunk, 2 threads, both
  U-Nets: bf16 115 -> 90 ms, fp32 183 -> 163 ms (decoder part; benchmarks/README.md).

On a 512 x 1024 segment this removes about half of the elementwise passes, which
dominate once the convolutions run on bf16 units (see benchmarks/README.md).
The kernels are stored in the run's dtype, so no weight is cast per call; the
one-channel head runs in float32, so the soft masks are not rounded to bf16.
"""

from __future__ import annotations

import torch

from stemsplit.core.models.spleeter.folded_conv import FoldedConv, f64
from stemsplit.core.models.spleeter.unet import StemUNets, UNet, phase_kernel, unshuffle_kernel

# Decoder layers run as transposed convolutions (25 taps) rather than the 3x3 phase form
# (36 taps): faster for the first four on 2 cores in fp32 and bf16; the last two, with
# 16 and 1 output channels, run better as the phase form (benchmarks/README.md).
TRANSPOSED_LAYERS = ()

# Folding divides by the encoder's batch-norm scale; below this it would lose precision.
MIN_FOLD_SCALE = 1e-3


def _bn_affine(bn: torch.nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch-norm in eval mode as ``x -> a x + b`` (float64)."""
    a = f64(bn.weight) / torch.sqrt(f64(bn.running_var) + bn.eps)
    return a, f64(bn.bias) - f64(bn.running_mean) * a


def activate_into(name: str, src: torch.Tensor, dst: torch.Tensor) -> None:
    """``dst[...] = activation(src)``; ``dst`` may be any strided view of the same shape."""
    if name == "relu":
        torch.clamp_min(src, 0, out=dst)
    elif name == "leaky_relu":
        torch.ops.aten.leaky_relu.out(src, 0.2, out=dst)
    elif name == "elu":
        torch.ops.aten.elu.out(src, 1.0, 1, 1, out=dst)
    else:
        raise ValueError(f"unknown activation {name!r}")


def phases(y: torch.Tensor) -> torch.Tensor:
    """``(B, 4C, H, W)`` as the view ``(B, C, H, 2, W, 2)``: channel ``(2p + q) C + c`` at
    ``[c, i, p, j, q]``.

    pixel_shuffle orders channels ``4c + 2p + q``; putting the phase first instead
    keeps each pixel's C channels contiguous in channels_last memory on both sides
    of the (un)shuffle, so it runs as block copies (5-7x faster, measured).
    """
    return y.unflatten(1, (2, 2, y.shape[1] // 4)).permute(0, 3, 4, 1, 5, 2)


def phase_first_inputs(kernel: torch.Tensor) -> torch.Tensor:
    """An :func:`unshuffle_kernel` ``(cout, 4cin, 3, 3)`` for inputs laid out by :func:`phases`."""
    cout, cin4 = kernel.shape[:2]
    return kernel.unflatten(1, (cin4 // 4, 2, 2)).permute(0, 2, 3, 1, 4, 5).reshape(kernel.shape)


def phase_first_outputs(kernel: torch.Tensor) -> torch.Tensor:
    """A :func:`phase_kernel` ``(4cout, cin, 3, 3)`` with outputs laid out by :func:`phases`."""
    return kernel.unflatten(0, (kernel.shape[0] // 4, 2, 2)).permute(1, 2, 0, 3, 4, 5) \
        .reshape(kernel.shape)


def split_pixels(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, 2H, 2W)`` -> the view ``(B, C, H, 2, W, 2)``."""
    b, c, h2, w2 = x.shape
    return x.unflatten(2, (h2 // 2, 2)).unflatten(4, (w2 // 2, 2))


def _move(conv: FoldedConv, device: torch.device) -> FoldedConv:
    conv.weight, conv.bias = conv.weight.to(device), conv.bias.to(device)
    return conv


class FusedUNet:
    """One U-Net ready for inference in ``dtype`` on ``device``; call it like ``UNet``."""

    def __init__(self, net: UNet, dtype: torch.dtype, device: torch.device) -> None:
        config = net.config
        self.encoder_activation = config.encoder_activation
        self.decoder_activation = config.decoder_activation
        self.sigmoid_head = config.sigmoid_head
        self.dtype, self.device = dtype, torch.device(device)
        with torch.no_grad():
            self._build(net)

    @classmethod
    def assemble(cls, config, dtype: torch.dtype, device: torch.device,
                 parts: dict) -> FusedUNet:
        """A FusedUNet from what :meth:`parts` returned (``spleeter.prepared``'s cache)."""
        self = cls.__new__(cls)
        self.encoder_activation = config.encoder_activation
        self.decoder_activation = config.decoder_activation
        self.sigmoid_head = config.sigmoid_head
        self.dtype, self.device = dtype, torch.device(device)
        for name in ("encoder", "encoder_bn", "decoder", "skip_channels", "head"):
            setattr(self, name, parts[name])
        return self

    def parts(self) -> dict:
        """Everything :meth:`assemble` needs, by the attribute names ``_build`` sets."""
        return {name: getattr(self, name) for name in
                ("encoder", "encoder_bn", "decoder", "skip_channels", "head")}

    def _build(self, net: UNet) -> None:
        self.encoder: list[FoldedConv] = []
        self.encoder_bn: list[tuple[torch.Tensor, torch.Tensor] | None] = []
        recover = []  # per encoder layer: (s, t) that turns what it stores back into z
        for i in range(1, 7):
            conv = getattr(net, f"down{i}_conv")[1]
            a, b = _bn_affine(getattr(net, f"down{i}_act")[0])
            weight, bias = f64(conv.weight), f64(conv.bias)
            # the bottleneck's batch-norm output is unused (only its conv feeds the decoder)
            if i < 6 and a.abs().min() >= MIN_FOLD_SCALE:
                weight, bias = weight * a.view(-1, 1, 1, 1), bias * a + b
                recover.append((1 / a, -b / a))
                self.encoder_bn.append(None)
            else:
                recover.append((torch.ones_like(a), torch.zeros_like(b)))
                self.encoder_bn.append(tuple(v.to(self.dtype).view(1, -1, 1, 1)
                                             .to(self.device) for v in (a, b)))
            if i == 1:  # two input channels: the unshuffled 3x3 form runs faster
                conv = FoldedConv.build(phase_first_inputs(unshuffle_kernel(weight)), bias,
                                        self.dtype)
            else:  # the plain 5x5 stride-2 kernel on a zero-bordered input: 25 taps, not 36
                conv = FoldedConv.build(weight, bias, self.dtype, padding=0, stride=2)
            self.encoder.append(_move(conv, self.device))
        self.decoder: list[FoldedConv] = []
        self.skip_channels: list[int] = []
        previous = None  # the previous decoder layer's batch-norm, moved into this layer
        for k in range(1, 7):
            block = getattr(net, f"up{k}")
            scale = shift = None
            if previous is not None:
                skip_scale, skip_shift = recover[6 - k]
                scale = torch.cat([skip_scale, previous[0]])
                shift = torch.cat([skip_shift, previous[1]])
                self.skip_channels.append(len(skip_scale))
            if k in TRANSPOSED_LAYERS:
                conv = FoldedConv.build_transposed(block[0].weight, block[0].bias, self.dtype,
                                                   scale, shift)
            else:
                conv = FoldedConv.build(phase_first_outputs(phase_kernel(f64(block[0].weight))),
                                        f64(block[0].bias).repeat(4), self.dtype, scale, shift)
            self.decoder.append(_move(conv, self.device))
            previous = _bn_affine(block[3])
        head = net.up7[0]
        self.head = _move(FoldedConv.build(head.weight, head.bias, torch.float32, previous[0],
                                           previous[1], padding=head.padding[0],
                                           dilation=head.dilation[0]), self.device)

    def _empty(self, b: int, c: int, h: int, w: int) -> torch.Tensor:
        return torch.empty(b, c, h, w, dtype=self.dtype, device=self.device,
                           memory_format=torch.channels_last)

    def _bordered(self, b: int, c: int, h: int, w: int) -> torch.Tensor:
        """A ``(b, c, h + 3, w + 3)`` buffer whose 1-before/2-after border is zero: TensorFlow's
        'same' padding of a 5x5 stride-2 convolution, written once instead of by F.pad."""
        x = self._empty(b, c, h + 3, w + 3)
        x[:, :, :1].zero_()
        x[:, :, h + 1:].zero_()
        x[:, :, 1: h + 1, :1].zero_()
        x[:, :, 1: h + 1, w + 1:].zero_()
        return x

    def __call__(self, mag: torch.Tensor) -> torch.Tensor:
        """``(B, 2, T, F)`` magnitudes -> ``(B, 2, T, F)`` float32 masks (or logits)."""
        b, c, h, w = mag.shape
        x = self._empty(b, 4 * c, h // 2, w // 2)
        phases(x).copy_(split_pixels(mag))  # pixel_unshuffle and cast in one pass
        inputs = {}  # decoder layer k -> its input buffer, skip already in place
        z = x
        for i, conv in enumerate(self.encoder, start=1):
            z = conv(x)
            if i == 6:
                break
            b, c, h, w = z.shape
            k = 7 - i
            buffer = self._empty(b, self.decoder[k - 1].in_channels, h, w)
            buffer[:, :c].copy_(z)
            inputs[k] = buffer
            bn = self.encoder_bn[i - 1]
            x = self._bordered(b, c, h, w)
            activate_into(self.encoder_activation, z if bn is None else z * bn[0] + bn[1],
                          x[:, :, 1: h + 1, 1: w + 1])
        u = z  # the bottleneck's convolution output
        for k, conv in enumerate(self.decoder, start=1):
            y = conv(u)
            if k < 6:
                u = inputs.pop(k + 1)
                target = u[:, self.skip_channels[k - 1]:]
            else:
                b, c4, h, w = y.shape
                u = target = self._empty(b, c4 // 4, 2 * h, 2 * w)
            if conv.transposed:
                activate_into(self.decoder_activation, y, target)
            else:
                activate_into(self.decoder_activation, phases(y), split_pixels(target))
        out = self.head(u.float())  # one channel: cheap, and the masks keep fp32 resolution
        return out.sigmoid_() if self.sigmoid_head else out


class FusedStemUNets:
    """``StemUNets`` for inference: per-stem soft masks ``(S, B, 2, T, F)`` in float32."""

    def __init__(self, nets: StemUNets | None, dtype: torch.dtype, device: torch.device,
                 fused: list[FusedUNet] | None = None, sigmoid_head: bool = True) -> None:
        """From ``nets``, or (``nets=None``) from ready ``fused`` U-Nets (the cache's)."""
        if nets is None:
            self.sigmoid_head, self.nets = sigmoid_head, list(fused or [])
            return
        self.sigmoid_head = nets.config.sigmoid_head
        self.nets = [FusedUNet(net, dtype, device) for net in nets.nets]

    def __call__(self, mag: torch.Tensor) -> torch.Tensor:
        out = torch.stack([net(mag) for net in self.nets])
        if not self.sigmoid_head:
            out = torch.softmax(out, dim=0)  # Spleeter's softmax_unet: stems compete
        return out
