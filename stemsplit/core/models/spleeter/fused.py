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

On a 512 x 1024 segment this removes about half of the elementwise passes, which
dominate once the convolutions run on bf16 units (see benchmarks/README.md).
The kernels are stored in the run's dtype, so no weight is cast per call; the
one-channel head runs in float32, so the soft masks are not rounded to bf16.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from stemsplit.core.models.spleeter.unet import StemUNets, UNet, phase_kernel, unshuffle_kernel

# Folding divides by the encoder's batch-norm scale; below this it would lose precision.
MIN_FOLD_SCALE = 1e-3


def _bn_affine(bn: torch.nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch-norm in eval mode as ``x -> a x + b`` (float64)."""
    a = _f64(bn.weight) / torch.sqrt(_f64(bn.running_var) + bn.eps)
    return a, _f64(bn.bias) - _f64(bn.running_mean) * a


def _f64(t: torch.Tensor) -> torch.Tensor:
    """Folding is done in float64 on the CPU (MPS has no float64), then cast once."""
    return t.detach().to("cpu", torch.float64)


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


@dataclass
class FoldedConv:
    """A stride-1 'same' convolution with a per-channel affine map of its input folded in.

    It computes ``conv(s * x + t)`` from the stored ``x`` exactly: ``weight`` is
    the original kernel scaled by ``s`` per input channel, ``bias`` holds the
    constant's interior contribution, and ``_borders`` the per-shape corrections.
    """

    weight: torch.Tensor
    bias: torch.Tensor
    padding: int = 1
    dilation: int = 1
    raw_weight: torch.Tensor | None = None  # fp32, unscaled: for the border corrections
    shift: torch.Tensor | None = None       # t, one per input channel (fp32); None: no shift
    _borders: dict = field(default_factory=dict)

    @classmethod
    def build(cls, kernel: torch.Tensor, bias: torch.Tensor, dtype: torch.dtype,
              scale: torch.Tensor | None = None, shift: torch.Tensor | None = None,
              padding: int = 1, dilation: int = 1) -> FoldedConv:
        """``kernel``: ``(cout, cin, k, k)``; ``scale``/``shift``: ``(cin,)`` float64 or None."""
        k, b = _f64(kernel), _f64(bias)
        if scale is not None:
            scaled = k * scale.view(1, -1, 1, 1)
        else:
            scaled = k
        if shift is not None:
            b = b + (k * shift.view(1, -1, 1, 1)).sum(dim=(1, 2, 3))
        return cls(scaled.to(dtype).contiguous(memory_format=torch.channels_last),
                   b.to(dtype), padding, dilation,
                   k.float() if shift is not None else None,
                   shift.float() if shift is not None else None)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.weight, self.bias, padding=self.padding, dilation=self.dilation)
        if self.shift is not None:
            self._fix_borders(y)
        return y

    def _reach(self) -> tuple[int, int]:
        span = self.dilation * (self.raw_weight.shape[-1] - 1)
        return self.padding, span - self.padding

    def _fix_borders(self, y: torch.Tensor) -> None:
        h, w = y.shape[-2:]
        key = (h, w, y.dtype, y.device)
        fix = self._borders.get(key)
        if fix is None:
            fix = self._borders[key] = self._border_maps(h, w, y.dtype, y.device)
        (top, bottom), corrections = self._reach(), fix
        y[:, :, :top] += corrections[0]
        y[:, :, h - bottom:] += corrections[1]
        y[:, :, top: h - bottom, :top] += corrections[2]
        y[:, :, top: h - bottom, w - bottom:] += corrections[3]

    def _border_maps(self, h: int, w: int, dtype: torch.dtype, device: torch.device
                     ) -> tuple[torch.Tensor, ...]:
        """What the constant adds on the borders minus what the bias already added.

        On a constant input an output row sees the same taps as every row at the same
        distance from its edge, and every interior row sees all taps (columns
        likewise). So only ``span + 1`` distinct rows and columns exist; they are
        summed tap by tap in float64 (a full-size fp32 convolution of the constant
        cost ~0.4 s for two U-Nets on the first chunk), then the interior row and
        column are repeated out to the real size.
        """
        top, bottom = self._reach()
        side = top + bottom + 1
        small = h < side or w < side
        rows = list(range(h)) if small else [*range(top + 1), *range(h - bottom, h)]
        cols = list(range(w)) if small else [*range(top + 1), *range(w - bottom, w)]
        taps = _f64(self.raw_weight) * _f64(self.shift).view(1, -1, 1, 1)
        per_tap = taps.sum(dim=1)                                  # (cout, k, k)
        seen = per_tap.new_tensor(self._valid_taps(rows, h))       # (rows, k)
        seen_cols = per_tap.new_tensor(self._valid_taps(cols, w))  # (cols, k)
        full = torch.einsum("ouv,iu,jv->oij", per_tap, seen, seen_cols)
        diff = (full - per_tap.sum(dim=(1, 2)).view(-1, 1, 1)).unsqueeze(0)
        if small:
            parts = (diff[:, :, :top], diff[:, :, h - bottom:],
                     diff[:, :, top: h - bottom, :top], diff[:, :, top: h - bottom, w - bottom:])
        else:
            inner = h - top - bottom
            parts = (_stretch(diff[:, :, :top], top, w),
                     _stretch(diff[:, :, side - bottom:], top, w),
                     diff[:, :, top: top + 1, :top].expand(-1, -1, inner, -1),
                     diff[:, :, top: top + 1, side - bottom:].expand(-1, -1, inner, -1))
        return tuple(p.to(device, dtype).contiguous() for p in parts)

    def _valid_taps(self, positions: list[int], size: int) -> list[list[float]]:
        """1.0 where tap ``u`` of output ``i`` reads inside the input, 0.0 on the padding."""
        k = self.raw_weight.shape[-1]
        return [[float(0 <= i - self.padding + self.dilation * u < size) for u in range(k)]
                for i in positions]


def _stretch(rows: torch.Tensor, middle: int, size: int) -> torch.Tensor:
    """Repeat column ``middle`` of ``(1, C, r, side)`` so that it becomes ``size`` wide."""
    centre = rows[..., middle: middle + 1]
    return torch.cat([rows[..., :middle], centre.expand(-1, -1, -1, size - rows.shape[-1] + 1),
                      rows[..., middle + 1:]], dim=-1)


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
            weight, bias = _f64(conv.weight), _f64(conv.bias)
            # the bottleneck's batch-norm output is unused (only its conv feeds the decoder)
            if i < 6 and a.abs().min() >= MIN_FOLD_SCALE:
                weight, bias = weight * a.view(-1, 1, 1, 1), bias * a + b
                recover.append((1 / a, -b / a))
                self.encoder_bn.append(None)
            else:
                recover.append((torch.ones_like(a), torch.zeros_like(b)))
                self.encoder_bn.append(tuple(v.to(self.dtype).view(1, -1, 1, 1)
                                             .to(self.device) for v in (a, b)))
            kernel = phase_first_inputs(unshuffle_kernel(weight))
            self.encoder.append(_move(FoldedConv.build(kernel, bias, self.dtype), self.device))
        self.decoder: list[FoldedConv] = []
        self.skip_channels: list[int] = []
        previous = None  # the previous decoder layer's batch-norm, moved into this layer
        for k in range(1, 7):
            block = getattr(net, f"up{k}")
            kernel = phase_first_outputs(phase_kernel(_f64(block[0].weight)))
            bias = _f64(block[0].bias).repeat(4)
            scale = shift = None
            if previous is not None:
                skip_scale, skip_shift = recover[6 - k]
                scale = torch.cat([skip_scale, previous[0]])
                shift = torch.cat([skip_shift, previous[1]])
                self.skip_channels.append(len(skip_scale))
            self.decoder.append(_move(FoldedConv.build(kernel, bias, self.dtype, scale, shift),
                                      self.device))
            previous = _bn_affine(block[3])
        head = net.up7[0]
        self.head = _move(FoldedConv.build(head.weight, head.bias, torch.float32, previous[0],
                                           previous[1], padding=head.padding[0],
                                           dilation=head.dilation[0]), self.device)

    def _empty(self, b: int, c: int, h: int, w: int) -> torch.Tensor:
        return torch.empty(b, c, h, w, dtype=self.dtype, device=self.device,
                           memory_format=torch.channels_last)

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
            buffer = self._empty(b, self.decoder[k - 1].weight.shape[1], h, w)
            buffer[:, :c].copy_(z)
            inputs[k] = buffer
            bn = self.encoder_bn[i - 1]
            x = self._empty(b, 4 * c, h // 2, w // 2)
            activate_into(self.encoder_activation, split_pixels(z if bn is None else
                                                                z * bn[0] + bn[1]),
                          phases(x))
        u = z  # the bottleneck's convolution output
        for k, conv in enumerate(self.decoder, start=1):
            y = conv(u)
            b, c4, h, w = y.shape
            if k < 6:
                u = inputs.pop(k + 1)
                target = u[:, self.skip_channels[k - 1]:]
            else:
                u = target = self._empty(b, c4 // 4, 2 * h, 2 * w)
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
