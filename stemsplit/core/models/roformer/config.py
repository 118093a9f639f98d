"""A RoFormer checkpoint's configuration, read from the YAML the community publishes with it.

The layout is ZFTurbo's Music-Source-Separation-Training one (also UVR's and
python-audio-separator's)::

    audio:    {chunk_size, sample_rate, num_channels, n_fft, hop_length, ...}
    model:    {dim, depth, stereo, num_stems, freqs_per_bands | num_bands, stft_*, ...}
    training: {instruments, target_instrument}
    inference: {num_overlap, batch_size}

Which architecture a file describes is not written down; ``freqs_per_bands`` means
BS-RoFormer, ``num_bands`` Mel-Band RoFormer. Everything the network depends on is
read from the file, never assumed; a key that would change the network and that
stemsplit does not implement is refused with a message naming it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from stemsplit.core.errors import ModelError

MAX_YAML_BYTES = 1 << 20  # the published configs are a few KB
BS = "bs_roformer"
MEL = "mel_band_roformer"

# Keys that only matter for training or for a particular attention kernel.
_IGNORED = {
    "attn_dropout", "ff_dropout", "flash_attn", "sage_attention", "use_torch_checkpoint",
    "multi_stft_resolution_loss_weight", "multi_stft_resolutions_window_sizes",
    "multi_stft_hop_size", "multi_stft_normalized", "multi_stft_window_fn",
    "match_input_audio_length", "dim_freqs_in",
}
_SUPPORTED = {
    "dim", "depth", "stereo", "num_stems", "time_transformer_depth", "freq_transformer_depth",
    "linear_transformer_depth", "freqs_per_bands", "num_bands", "dim_head", "heads",
    "sample_rate", "stft_n_fft", "stft_hop_length", "stft_win_length", "stft_normalized",
    "mask_estimator_depth", "mlp_expansion_factor", "skip_connection", "zero_dc",
}


class _SafeLoader(yaml.SafeLoader):
    """yaml's safe loader plus ``!!python/tuple``, which these configs use for plain lists."""


_SafeLoader.add_constructor(
    "tag:yaml.org,2002:python/tuple",
    lambda loader, node: tuple(loader.construct_sequence(node, deep=True)))


@dataclass(frozen=True)
class RoformerConfig:
    """Everything needed to build and run one RoFormer network.

    Attributes:
        arch: ``bs_roformer`` or ``mel_band_roformer``.
        freqs_per_bands: BS-RoFormer: STFT bins per band, in order (they sum to
            ``n_fft // 2 + 1``); empty for Mel-Band RoFormer.
        num_bands: Mel-Band RoFormer: overlapping mel bands; 0 for BS-RoFormer.
        chunk_size: samples per network call (the training chunk).
        instruments: the stems the network was trained on.
        target_instrument: a one-stem network's stem, or None.
        num_overlap: the config's own inference overlap (chunks per chunk length).
    """

    arch: str
    dim: int
    depth: int
    stereo: bool = False
    num_stems: int = 1
    time_transformer_depth: int = 2
    freq_transformer_depth: int = 2
    linear_transformer_depth: int = 0
    freqs_per_bands: tuple[int, ...] = ()
    num_bands: int = 0
    dim_head: int = 64
    heads: int = 8
    sample_rate: int = 44100
    n_fft: int = 2048
    hop: int = 512
    win_length: int = 2048
    normalized: bool = False
    mask_estimator_depth: int = 2
    mlp_expansion_factor: int = 4
    skip_connection: bool = False
    zero_dc: bool = False
    chunk_size: int = 352800
    instruments: tuple[str, ...] = ("vocals", "other")
    target_instrument: str | None = None
    num_overlap: int = 2
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def channels(self) -> int:
        return 2 if self.stereo else 1

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def outputs(self) -> tuple[str, ...]:
        """The stems the network estimates, in the order of its mask estimators."""
        if self.target_instrument is not None:
            return (self.target_instrument,)
        return self.instruments[: self.num_stems]

    @property
    def stems(self) -> tuple[str, ...]:
        """What the engine returns: the network's stems, then what is left of the mix.

        The last stem is always the mix minus the others, so the stems sum to the mix.
        """
        if self.target_instrument is not None:
            rest = [s for s in self.instruments if s != self.target_instrument]
            return (self.target_instrument, rest[0] if len(rest) == 1 else "rest")
        return self.instruments

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("extra")
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> RoformerConfig:
        data = json.loads(text)
        for key in ("freqs_per_bands", "instruments"):
            data[key] = tuple(data[key])
        return cls(**data)


def read_yaml(path: Path) -> RoformerConfig:
    """Read a community YAML config file (safely: no Python objects are built).

    Raises:
        ModelError: unreadable, not a RoFormer config, or one stemsplit cannot run.
    """
    try:
        if Path(path).stat().st_size > MAX_YAML_BYTES:
            raise ModelError(f"{Path(path).name} is too large for a model config "
                             f"(over {MAX_YAML_BYTES >> 10} KB); it is not a RoFormer config")
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read the config {path}: {exc}") from exc
    return parse_yaml(text, Path(path).name)


def parse_yaml(text: str, name: str = "the config") -> RoformerConfig:
    """:func:`read_yaml` on the file's text."""
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{name} is not a readable YAML config ({first})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise ModelError(f"{name} has no 'model' section; it is not a RoFormer config")
    return from_dict(data, name)


def _int(section: dict, key: str, default: int, name: str, minimum: int = 1) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ModelError(f"{name}: '{key}' must be an integer >= {minimum}, not {value!r}")
    return value


def from_dict(data: dict, name: str = "the config") -> RoformerConfig:
    """Build and check a config from the parsed YAML (sections ``model``, ``audio``, ...)."""
    model = data["model"]
    audio = data.get("audio") or {}
    training = data.get("training") or {}
    inference = data.get("inference") or {}
    if not all(isinstance(s, dict) for s in (audio, training, inference)):
        raise ModelError(f"{name}: 'audio', 'training' and 'inference' must be sections")
    unknown = sorted(set(model) - _SUPPORTED - _IGNORED)
    if unknown:
        raise ModelError(f"{name} asks for {', '.join(unknown)}, which stemsplit's RoFormer "
                         "does not implement; this model cannot be run")
    if ("freqs_per_bands" in model) == ("num_bands" in model):
        raise ModelError(f"{name} must give either 'freqs_per_bands' (BS-RoFormer) or "
                         "'num_bands' (Mel-Band RoFormer)")
    arch = BS if "freqs_per_bands" in model else MEL
    for key in ("stft_window_fn",):
        if model.get(key) is not None:
            raise ModelError(f"{name}: a custom '{key}' cannot be run")
    n_fft = _int(model, "stft_n_fft", 2048, name, 16)
    kwargs = dict(
        arch=arch,
        dim=_int(model, "dim", 0, name), depth=_int(model, "depth", 0, name),
        stereo=bool(model.get("stereo", False)),
        num_stems=_int(model, "num_stems", 1, name),
        time_transformer_depth=_int(model, "time_transformer_depth", 2, name),
        freq_transformer_depth=_int(model, "freq_transformer_depth", 2, name),
        linear_transformer_depth=_int(model, "linear_transformer_depth", 0, name, 0),
        dim_head=_int(model, "dim_head", 64, name), heads=_int(model, "heads", 8, name),
        sample_rate=_int(model, "sample_rate", audio.get("sample_rate", 44100), name),
        n_fft=n_fft, hop=_int(model, "stft_hop_length", 512, name),
        win_length=_int(model, "stft_win_length", n_fft, name),
        normalized=bool(model.get("stft_normalized", False)),
        mask_estimator_depth=_int(model, "mask_estimator_depth", 2 if arch == BS else 1, name),
        mlp_expansion_factor=_int(model, "mlp_expansion_factor", 4, name),
        skip_connection=bool(model.get("skip_connection", False)),
        zero_dc=bool(model.get("zero_dc", False)),
        chunk_size=_int(audio, "chunk_size", 352800, name),
        num_overlap=_int(inference, "num_overlap", 2, name),
        extra={k: v for k, v in data.items() if k not in ("model",)},
    )
    if arch == BS:
        bands = model["freqs_per_bands"]
        if not isinstance(bands, (list, tuple)) or len(bands) < 2 or not all(
                isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in bands):
            raise ModelError(f"{name}: 'freqs_per_bands' must be two or more positive integers")
        if sum(bands) != n_fft // 2 + 1:
            raise ModelError(f"{name}: the bands hold {sum(bands)} bins but an FFT of {n_fft} "
                             f"has {n_fft // 2 + 1}; the config does not fit its own STFT")
        kwargs["freqs_per_bands"] = tuple(bands)
    else:
        kwargs["num_bands"] = _int(model, "num_bands", 60, name, 2)
    if kwargs["win_length"] > n_fft:
        raise ModelError(f"{name}: stft_win_length is longer than stft_n_fft")
    if kwargs["chunk_size"] < n_fft:
        raise ModelError(f"{name}: chunk_size is shorter than one STFT frame")
    channels = audio.get("num_channels")
    if channels is not None and channels != (2 if kwargs["stereo"] else 1):
        raise ModelError(f"{name}: audio.num_channels is {channels} but the model is "
                         f"{'stereo' if kwargs['stereo'] else 'mono'}")
    instruments = training.get("instruments") or ["vocals", "other"]
    if not isinstance(instruments, (list, tuple)) or not all(
            isinstance(s, str) and s for s in instruments) or len(set(instruments)) != len(
            instruments):
        raise ModelError(f"{name}: training.instruments must be distinct stem names")
    target = training.get("target_instrument")
    if target is not None and (not isinstance(target, str) or target not in instruments):
        raise ModelError(f"{name}: target_instrument {target!r} is not one of the instruments")
    num_stems = kwargs["num_stems"]
    if target is None and num_stems == 1 and len(instruments) == 2:
        target = instruments[0]  # a one-stem network estimates the first instrument
    if target is not None and num_stems != 1:
        raise ModelError(f"{name}: a target_instrument needs num_stems 1, not {num_stems}")
    if target is None and num_stems != len(instruments):
        raise ModelError(f"{name}: the network has {num_stems} stems but the config lists "
                         f"{len(instruments)} instruments")
    if target is None and len(instruments) < 2:
        raise ModelError(f"{name}: a model needs at least two stems")
    kwargs["instruments"] = tuple(instruments)
    kwargs["target_instrument"] = target
    config = RoformerConfig(**kwargs)
    if config.arch == MEL:
        from stemsplit.core.models.roformer.mel import band_membership

        if not band_membership(config.sample_rate, config.n_fft, config.num_bands).any(
                axis=0).all():
            raise ModelError(f"{name}: {config.num_bands} mel bands leave some bins uncovered")
    return config
