"""Reading the community's YAML configs, and refusing the ones stemsplit cannot run."""

from __future__ import annotations

import pytest

from stemsplit.core.errors import ModelError
from stemsplit.core.models.roformer.config import BS, MEL, parse_yaml, read_yaml
from tests.core.models.roformer._small import small_yaml


def test_reads_the_published_layout_with_python_tuples():
    bs = parse_yaml(small_yaml("bs", stereo=True))
    assert bs.arch == BS and bs.stereo and bs.dim == 32 and bs.depth == 2
    assert bs.freqs_per_bands == (8,) * 32 + (257,) and sum(bs.freqs_per_bands) == bs.bins
    assert (bs.n_fft, bs.hop, bs.chunk_size, bs.num_overlap) == (1024, 441, 44100, 2)
    assert bs.outputs == ("vocals",) and bs.stems == ("vocals", "other")
    mel = parse_yaml(small_yaml("mel", stereo=False, num_stems=4))
    assert mel.arch == MEL and mel.num_bands == 24 and not mel.stereo
    assert mel.stems == ("drums", "bass", "other", "vocals") == mel.outputs


def test_config_round_trips_through_json():
    config = parse_yaml(small_yaml("bs"))
    assert type(config).from_json(config.to_json()) == config


@pytest.mark.parametrize("change,message", [
    (("  dim: 32\n", "  dim: 32\n  num_residual_streams: 4\n"), "num_residual_streams"),
    (("  - 257\n", "  - 256\n"), "bands hold 512 bins but an FFT of 1024 has 513"),
    (("  num_channels: 2\n", "  num_channels: 1\n"), "num_channels"),
    (("  target_instrument: vocals\n", "  target_instrument: piano\n"), "piano"),
    (("  num_stems: 1\n", "  num_stems: 3\n"), "num_stems 1"),
    (("  depth: 2\n", "  depth: two\n"), "'depth' must be an integer"),
    (("  stft_win_length: 1024\n", "  stft_win_length: 4096\n"), "win_length"),
])
def test_refuses_configs_it_cannot_run(change, message):
    text = small_yaml("bs").replace(*change)
    with pytest.raises(ModelError, match=message):
        parse_yaml(text, "x.yaml")


def test_both_or_neither_band_layout_is_refused():
    text = small_yaml("bs").replace("  dim: 32\n", "  dim: 32\n  num_bands: 60\n")
    with pytest.raises(ModelError, match="either 'freqs_per_bands'"):
        parse_yaml(text)


def test_python_objects_in_yaml_are_never_built(tmp_path):
    marker = tmp_path / "ran"
    text = small_yaml("bs") + f"evil: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ModelError, match="not a readable YAML config"):
        parse_yaml(text, "evil.yaml")
    assert not marker.exists()


def test_unreadable_files_get_one_sentence(tmp_path):
    with pytest.raises(ModelError, match="cannot read the config"):
        read_yaml(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ModelError, match="no 'model' section"):
        read_yaml(tmp_path / "list.yaml")
