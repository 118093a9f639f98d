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
from dataclasses import dataclass, field
from fractions import Fraction

from stemsplit.core.errors import ModelError

# Keywords demucs accepts that only matter for training (optimiser groups, the
# random parts of the positional embeddings, sparse-mask seeds).
_TRAINING_ONLY = {"t_weight_decay", "t_lr", "t_dropout", "t_sin_random_shift",
                  "t_cape_augment", "t_cape_glob_loc_scale", "t_mask_type",
                  "t_mask_random_seed", "t_sparse_attn_window", "t_global_window",
                  "t_sparsity", "t_auto_sparsity", "end_iters", "rescale"}


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
        names = {f.name for f in dataclasses.fields(cls)} - {"ignored"}
        known = {k: v for k, v in kwargs.items() if k in names}
        ignored = tuple(sorted(k for k in kwargs if k not in names and k not in _TRAINING_ONLY))
        try:
            known["sources"] = tuple(str(s) for s in known["sources"])
            known["segment"] = Fraction(known.get("segment", 10)).limit_denominator(1_000_000)
            known["multi_freqs"] = tuple(float(r) for r in known.get("multi_freqs") or ())
            config = cls(**known, ignored=ignored)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"the checkpoint's HTDemucs arguments are malformed: {exc}") \
                from exc
        config.check_supported()
        return config

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
        except ValueError as exc:
            raise ModelError(f"damaged HT-Demucs configuration: {exc}") from exc
        if not isinstance(data, dict):
            raise ModelError("damaged HT-Demucs configuration")
        return cls.from_kwargs(data)
