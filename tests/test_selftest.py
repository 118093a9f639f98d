import numpy as np

from stemsplit.selftest import _check, run_self_test


def test_self_test_passes_and_reports_version_device_licence():
    lines: list[str] = []
    assert run_self_test(lines.append) == 0
    text = "\n".join(lines)
    assert "self-test passed" in text and "MIT" in text and "device: cpu" in text


def test_check_rejects_stems_that_do_not_sum_to_the_mix(demo_audio):
    mix = demo_audio.samples[:, :44100]
    assert any("do not sum" in f for f in _check(mix, {"a": 0.5 * mix, "b": 0.4 * mix}, print))


def test_check_rejects_a_stem_that_is_the_whole_mix(demo_audio):
    mix = demo_audio.samples[:, :44100]
    assert _check(mix, {"a": mix.copy(), "b": np.zeros_like(mix)}, print)
