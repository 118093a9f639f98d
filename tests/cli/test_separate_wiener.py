"""`stemsplit separate --wiener N`: the stems are post-filtered and still sum to the song."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from stemsplit.cli.main import EXIT_FAILED, EXIT_OK, main


def test_separate_with_the_wiener_post_filter(tmp_path, demo_audio, separator, capsys):
    from stemsplit.core.engine.postfilter import refine_stems

    clip = demo_audio.samples[:, : 3 * 44100]
    song = tmp_path / "clip.wav"
    sf.write(song, clip.T, 44100, subtype="FLOAT")
    out = tmp_path / "out"
    assert main(["separate", str(song), "-o", str(out), "--wiener", "1", "--bit-depth", "32f",
                 "--device", "cpu", "-q"]) == EXIT_OK
    voc = sf.read(out / "clip" / "vocals.wav", always_2d=True, dtype="float32")[0].T
    acc = sf.read(out / "clip" / "accompaniment.wav", always_2d=True, dtype="float32")[0].T
    assert np.abs(voc + acc - clip).max() < 1e-6
    plain = separator.separate(clip, 44100)
    expected = refine_stems(plain.stems, clip, 1, 44100)
    np.testing.assert_allclose(voc, expected["vocals"], atol=2e-4)
    assert np.abs(voc - plain.stems["vocals"]).max() > 1e-3

    assert main(["separate", str(song), "-o", str(out), "--wiener", "99"]) == EXIT_FAILED
    assert "--wiener takes 0 to 20 iterations, not 99" in capsys.readouterr().err
