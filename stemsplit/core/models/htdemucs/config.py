"""HT-Demucs hyper-parameters: a checkpoint's ``kwargs``, checked and typed.

A demucs checkpoint stores the keyword arguments its ``HTDemucs`` was built
with; the defaults below are that class's (demucs 4, MIT code), so a checkpoint
that leaves a keyword out means the same thing here as there. Options that no
published HT-Demucs model uses and that this port does not implement (Wiener
filtering instead of complex-as-channels, band-split ``multi_freqs`` layers,
xformers' sparse attention) are refused with a clear message rather than run
wrongly.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from fractions import Fraction

from stemsplit.core.errors import ModelError

# Keywords demucs accepts that only matter for training (optimiser groups, the
# random parts of the positional embeddings, sparse-mask seeds).
_TRAINING_ONLY = {"t_weight_decay", "t_lr", "t_dropout", "t_sin_random_shift",
                  "t_cape_augment", "t_cape_glob_loc_scale", "t_mask_type",
                  "t_mask_random_seed", "t_sparse_attn_window", "t_global_window",
                  "t_sparsity", "t_auto_sparsity", "end_iters", "rescale"}

# Sane ranges for every number that shapes the network, wide around the published
# models (channels 48, depth 4, nfft 4096, 5 transformer layers of 512): a file
# outside them is damaged or crafted, and building its network could take all the
# memory there is (channels=4096) or fail deep inside torch (channels=-8).
_BOUNDS: dict[str, tuple[float, float]] = {
    "audio_channels": (1, 2), "samplerate": (8000, 192000), "channels": (1, 512),
    "channels_time": (1, 512), "growth": (1, 4), "nfft": (256, 16384), "depth": (1, 8),
    "wiener_iters": (0, 0), "multi_freqs_depth": (0, 8), "freq_emb": (0, 10),
    "emb_scale": (0, 1000), "kernel_size": (1, 16), "time_stride": (1, 8), "stride": (1, 8),
    "context": (0, 8), "context_enc": (0, 8), "norm_starts": (0, 16), "norm_groups": (1, 64),
    "dconv_mode": (0, 3), "dconv_depth": (0, 8), "dconv_comp": (1, 64), "dconv_init": (0, 10),
    "bottom_channels": (0, 4096), "t_layers": (0, 32), "t_hidden_scale": (0.1, 16),
    "t_heads": (1, 64), "t_max_positions": (1, 1_000_000), "t_max_period": (1, 1e7),
    "t_weight_pos_embed": (0, 100),
}
MAX_SEGMENT_S = 120
MAX_SOURCES = 16
# htdemucs has ~42 M parameters; an estimate far past that is not a real model.
MAX_PARAMETERS = 300_000_000


@dataclass(frozen=True)
class HTDemucsConfig:
    """The architecture switches of one HT-Demucs model (demucs's keyword names).

    Attributes (the ones that shape the network):
        sources: stem names, in the order of the network's outputs.
        audio_channels: 2 for all published models.
        samplerate: 44100 for all published models.
        segment: seconds the model was trained on; inputs are padded to it.
        channels, channels_time, growth: hidden widths (frequency / time branch).
        nfft: STFT size; the hop is ``nfft // 4``.
        depth: encoder (and decoder) layers per branch.
        kernel_size, stride, time_stride: convolution shapes.
        context, context_enc: half-width of the 1x1-ish "rewrite" convolution in
            the decoder / encoder.
        norm_starts, norm_groups: GroupNorm from this layer on.
        dconv_mode: 1 residual DConv branch in the encoder, 2 decoder, 3 both.
        dconv_depth, dconv_comp, dconv_init: DConv depth, compression, LayerScale init.
        freq_emb, emb_scale, emb_smooth: the learnt frequency embedding.
        bottom_channels: width of the transformer when a 1x1 projection wraps it.
        t_*: the cross-domain transformer (layers, heads, FFN scale, norms, embedding).
    """

    sources: tuple[str, ...]
    audio_channels: int = 2
    samplerate: int = 44100
    segment: Fraction = Fraction(10)
    use_train_segment: bool = True
    channels: int = 48
    channels_time: int | None = None
    growth: float = 2
    nfft: int = 4096
    wiener_iters: int = 0
    wiener_residual: bool = False
    cac: bool = True
    depth: int = 4
    rewrite: bool = True
    multi_freqs: tuple[float, ...] = ()
    multi_freqs_depth: int = 3
    freq_emb: float = 0.2
    emb_scale: float = 10
    emb_smooth: bool = True
    kernel_size: int = 8
    time_stride: int = 2
    stride: int = 4
    context: int = 1
    context_enc: int = 0
    norm_starts: int = 4
    norm_groups: int = 4
    dconv_mode: int = 1
    dconv_depth: int = 2
    dconv_comp: float = 8
    dconv_init: float = 1e-3
    bottom_channels: int = 0
    t_layers: int = 5
    t_emb: str = "sin"
    t_hidden_scale: float = 4.0
    t_heads: int = 8
    t_max_positions: int = 10000
    t_norm_in: bool = True
    t_norm_in_group: bool = False
    t_group_norm: bool = False
    t_norm_first: bool = True
    t_norm_out: bool = True
    t_max_period: float = 10000.0
    t_layer_scale: bool = True
    t_gelu: bool = True
    t_weight_pos_embed: float = 1.0
    t_cape_mean_normalize: bool = True
    t_sparse_self_attn: bool = False
    t_sparse_cross_attn: bool = False
    t_cross_first: bool = False
    # keywords this port does not know (demucs, loading non-strictly, drops them too)
    ignored: tuple[str, ...] = field(default=(), compare=False)

    @property
    def hop_length(self) -> int:
        return self.nfft // 4

    @property
    def training_length(self) -> int:
        """Samples the network always sees (inputs are zero-padded up to this)."""
        return int(self.segment * self.samplerate)

    @classmethod
    def from_kwargs(cls, kwargs: dict, args: tuple | list = ()) -> HTDemucsConfig:
        """Check a checkpoint's ``args``/``kwargs`` and build the config.

        Raises:
            ModelError: an option this port does not implement, or a malformed value.
        """
        kwargs = dict(kwargs)
        if args:
            if len(args) > 1 or "sources" in kwargs:
                raise ModelError("the checkpoint passes HTDemucs unexpected positional arguments")
            kwargs["sources"] = args[0]
        if "sources" not in kwargs:
            raise ModelError("the checkpoint does not name its sources")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        names = set(fields) - {"ignored"}
        known = {k: v for k, v in kwargs.items() if k in names}
        ignored = tuple(sorted(k for k in kwargs if k not in names and k not in _TRAINING_ONLY))
        try:
            sources = known["sources"]
            if isinstance(sources, (str, bytes)) or len(sources) > MAX_SOURCES:
                raise ValueError("sources must be a list of at most 16 names")
            known["sources"] = tuple(str(s) for s in sources)
            segment = known.get("segment", 10)
            if isinstance(segment, bool) or not isinstance(segment, (int, float, str,
                                                                        Fraction)):
                raise ValueError(f"segment={segment!r}")
            known["segment"] = Fraction(segment).limit_denominator(1_000_000)
            known["multi_freqs"] = tuple(float(r) for r in known.get("multi_freqs") or ())
            for name, value in known.items():
                if name not in ("sources", "segment", "multi_freqs"):
                    known[name] = _typed(name, value, str(fields[name].type))
            config = cls(**known, ignored=ignored)
        except (TypeError, ValueError, OverflowError, ZeroDivisionError,
                RecursionError) as exc:
            raise ModelError(f"the checkpoint's HTDemucs arguments are malformed: "
                             f"{str(exc)[:200]}") from exc
        config.check_supported()
        config.check_bounds()
        return config

    def check_bounds(self) -> None:
        """Raise ModelError for any value outside what a real HT-Demucs model could have."""
        problems = []
        for name, (low, high) in _BOUNDS.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                problems.append(f"{name}={value!r} (expected {low:g} to {high:g})")
        if self.nfft & (self.nfft - 1):
            problems.append(f"nfft={self.nfft} (not a power of two)")
        if not 0 < self.segment <= MAX_SEGMENT_S:
            problems.append(f"segment={float(self.segment):g} s")
        names = self.sources
        if not names or len(set(names)) != len(names) or any(
                not n or len(n) > 64 or not n.isprintable() for n in names):
            problems.append("sources (empty, repeated or unprintable names)")
        if not problems:
            width = self.transformer_width
            if width % self.t_heads:
                problems.append(f"t_heads={self.t_heads} does not divide the transformer's "
                                f"width {width}")
            if self.estimated_parameters() > MAX_PARAMETERS:
                problems.append(f"a network of ~{self.estimated_parameters() / 1e6:.0f} M "
                                "parameters")
        if problems:
            raise ModelError("this HT-Demucs configuration is damaged or not a real model: "
                             + ", ".join(problems[:4]))

    @property
    def transformer_width(self) -> int:
        return self.bottom_channels or int(self.channels * self.growth ** (self.depth - 1))

    def estimated_parameters(self) -> int:
        """Roughly how many weights the network has (an upper estimate, for a sanity bound)."""
        total = 0
        chin = self.audio_channels * 2
        for index in range(self.depth):
            chout = int(self.channels * self.growth ** index)
            conv = chin * chout * self.kernel_size + chout * 2 * chout * (1 + 2 * self.context)
            dconv = self.dconv_depth * chout * chout * 3 // max(int(self.dconv_comp), 1) * 2
            total += 4 * (conv + dconv)  # both branches, encoder and decoder
            chin = chout
        width = self.transformer_width
        per_layer = 8 * width * width + 2 * int(width * width * self.t_hidden_scale)
        return int(total + 2 * self.t_layers * per_layer + 2 * chin * width)

    def check_supported(self) -> None:
        """Raise ModelError for options no published HT model uses and this port lacks."""
        problems = []
        if not self.cac:
            problems.append("cac=False (Wiener-filtered masks)")
        if self.wiener_iters:
            problems.append("wiener_iters > 0")
        if self.multi_freqs:
            problems.append("multi_freqs (band-split layers)")
        if self.t_sparse_self_attn or self.t_sparse_cross_attn:
            problems.append("sparse attention (xformers kernels)")
        if self.t_emb not in ("sin", "cape", "scaled"):
            problems.append(f"t_emb={self.t_emb!r}")
        if self.nfft % 4 or self.hop_length % 2:
            problems.append(f"nfft={self.nfft}")
        if self.segment <= 0 or self.samplerate <= 0 or not self.sources:
            problems.append("an empty segment, rate or source list")
        if problems:
            raise ModelError("this HT-Demucs checkpoint uses options stemsplit does not "
                             "implement: " + ", ".join(problems))

    # -- a JSON form for the metadata of our safetensors files -----------------------------

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "ignored"}
        data["sources"] = list(self.sources)
        data["multi_freqs"] = list(self.multi_freqs)
        data["segment"] = f"{self.segment.numerator}/{self.segment.denominator}"
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HTDemucsConfig:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ModelError(f"damaged HT-Demucs configuration: {str(exc)[:200]}") from exc
        if not isinstance(data, dict):
            raise ModelError("damaged HT-Demucs configuration")
        return cls.from_kwargs(data)


def _typed(name: str, value, kind: str):
    """``value`` checked against the field's declared type (bool, int, float, str, optional)."""
    if value is None and "None" in kind:
        return None
    if kind == "bool":
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return bool(value)
        raise ValueError(f"{name}={value!r} is not true or false")
    if kind == "str":
        if isinstance(value, str) and len(value) <= 64:
            return value
        raise ValueError(f"{name}={value!r} is not a short name")
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise ValueError(f"{name}={value!r} is not a number")
    if not math.isfinite(value):
        raise ValueError(f"{name}={value!r} is not a finite number")
    if kind.startswith("int"):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ValueError(f"{name}={value!r} is not a whole number")
        return value
    return float(value)
