"""One convolution of the fused U-Net, with a per-channel affine map of its input folded in.

See ``fused.py`` for why: the batch-norms and skips' affine maps move into the
convolutions that read them; this holds the kernels and the exact corrections
where the zero padding means "no input" (the constant must count less there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F


def f64(t: torch.Tensor) -> torch.Tensor:
    """Folding is done in float64 on the CPU (MPS has no float64), then cast once."""
    return t.detach().to("cpu", torch.float64)


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
    stride: int = 1                         # 2 only for unshifted encoder layers
    transposed: bool = False                # a 5x5 stride-2 transposed conv (decoder)
    _borders: dict = field(default_factory=dict)

    @classmethod
    def build(cls, kernel: torch.Tensor, bias: torch.Tensor, dtype: torch.dtype,
              scale: torch.Tensor | None = None, shift: torch.Tensor | None = None,
              padding: int = 1, dilation: int = 1, stride: int = 1) -> FoldedConv:
        """``kernel``: ``(cout, cin, k, k)``; ``scale``/``shift``: ``(cin,)`` float64 or None."""
        k, b = f64(kernel), f64(bias)
        if scale is not None:
            scaled = k * scale.view(1, -1, 1, 1)
        else:
            scaled = k
        if shift is not None:
            b = b + (k * shift.view(1, -1, 1, 1)).sum(dim=(1, 2, 3))
        return cls(scaled.to(dtype).contiguous(memory_format=torch.channels_last),
                   b.to(dtype), padding, dilation,
                   k.float() if shift is not None else None,
                   shift.float() if shift is not None else None, stride)

    @classmethod
    def build_transposed(cls, kernel: torch.Tensor, bias: torch.Tensor, dtype: torch.dtype,
                         scale: torch.Tensor | None = None,
                         shift: torch.Tensor | None = None) -> FoldedConv:
        """``kernel``: ``(cin, cout, 5, 5)`` of ConvTranspose2d(stride 2) + Spleeter's crop.

        With a shift, the constant's contribution varies by output phase and near the
        borders, so no bias goes to the convolution: :meth:`_constant_map` holds bias
        and constant together, one map per input size.
        """
        k, b = f64(kernel), f64(bias)
        scaled = k if scale is None else k * scale.view(-1, 1, 1, 1)
        return cls(scaled.to(dtype).contiguous(memory_format=torch.channels_last),
                   b.to(dtype) if shift is None else b.float(), 1, 1,
                   k.float() if shift is not None else None,
                   shift.float() if shift is not None else None, 2, True)

    @property
    def in_channels(self) -> int:
        return self.weight.shape[0 if self.transposed else 1]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.transposed:
            return self._transposed(x)
        y = F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                     dilation=self.dilation)
        if self.shift is not None:
            self._fix_borders(y)
        return y

    def _transposed(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, cin, h, w)`` -> ``(B, cout, 2h, 2w)`` (a view: the crop keeps rows and
        columns 1 .. 2h of the 2h + 3; padding 1 drops the first and last already)."""
        h, w = x.shape[-2:]
        if self.shift is None:
            y = F.conv_transpose2d(x, self.weight, self.bias, stride=2, padding=1)
            return y[:, :, : 2 * h, : 2 * w]
        y = F.conv_transpose2d(x, self.weight, None, stride=2, padding=1)[:, :, : 2 * h, : 2 * w]
        key = (h, w, y.dtype, y.device)
        constant = self._borders.get(key)
        if constant is None:
            constant = self._borders[key] = self._constant_map(h, w).to(y.device, y.dtype) \
                .contiguous(memory_format=torch.channels_last)
        return y.add_(constant)

    def _constant_map(self, h: int, w: int) -> torch.Tensor:
        """``(1, cout, 2h, 2w)``: what bias and shift add to the cropped output, in float64.

        Output row ``y`` (row ``y + 1`` before the crop) takes tap ``u`` from input row
        ``i`` where ``2 i + u = y + 1``; on a constant input only whether such an ``i``
        exists matters, so the map is ``sum_uv P[o, u, v] R[y, u] C[x, v]`` with
        ``P = sum_c W[c, o] t_c``, contracted one axis at a time (a full transposed
        convolution of the constant in float64 would take seconds).
        """
        per_tap = (f64(self.raw_weight) * f64(self.shift).view(-1, 1, 1, 1)).sum(dim=0)
        k = per_tap.shape[-1]

        def hits(size: int) -> torch.Tensor:
            out = torch.zeros(2 * size, k, dtype=torch.float64)
            for y in range(2 * size):
                for u in range(k):
                    i2 = y + 1 - u
                    out[y, u] = float(i2 % 2 == 0 and 0 <= i2 // 2 < size)
            return out

        cols = torch.einsum("ouv,xv->oux", per_tap, hits(w))
        rows = torch.einsum("oux,yu->oyx", cols, hits(h))
        return (rows + f64(self.bias).view(-1, 1, 1)).unsqueeze(0)

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
        taps = f64(self.raw_weight) * f64(self.shift).view(1, -1, 1, 1)
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
