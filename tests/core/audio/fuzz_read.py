"""Fuzz the audio reader's probe and decoder with mutated real files (run as a subprocess).

``python -m tests.core.audio.fuzz_read OUT_DIR`` writes short WAV, FLAC and MP3
files of the demo song, then lets hypothesis flip bytes, overwrite runs of
them with extreme values, truncate and splice them, and asserts that
:func:`stemsplit.core.audio.read.probe` and :func:`load_audio` raise nothing
but ``AudioLoadError``. It runs under an address-space limit (``AS_LIMIT``, set
by its test through ``tests._bounded``), so "allocate what a damaged header
claims" shows up as a failure (a ``MemoryError``) instead of swapping the
machine. ``STEMSPLIT_FUZZ_EXAMPLES`` sets the number of examples.
Prints ``FUZZ OK <n>`` at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

AS_LIMIT = 3 << 30  # bytes of address space: FFmpeg and numpy need ~1 GiB mapped


def main(folder: Path) -> int:
    import numpy as np
    import soundfile as sf
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from stemsplit.core.audio.read import load_audio, probe
    from stemsplit.core.errors import AudioLoadError
    from stemsplit.core.models.spleeter.weights import demo_song_path

    demo = load_audio(demo_song_path()).samples[:, 44100 * 3: 44100 * 3 + 11025]
    seeds = {}
    for ext, kwargs in (("wav", {"subtype": "PCM_16"}), ("flac", {"subtype": "PCM_16"}),
                        ("mp3", {"format": "MP3"})):
        path = folder / f"seed.{ext}"
        sf.write(path, demo.T, 44100, **kwargs)
        seeds[ext] = path.read_bytes()
    from tests._fuzz import examples as fuzz_examples

    examples = fuzz_examples(300)
    counter = [0]

    mutation = st.one_of(
        st.tuples(st.just("flip"), st.integers(0, 1 << 16), st.integers(0, 7)),
        st.tuples(st.just("set"), st.integers(0, 256), st.sampled_from(
            [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80",
             b"\x01", b"\xff"])),
        st.tuples(st.just("cut"), st.integers(0, 1 << 16), st.just(0)),
        st.tuples(st.just("dup"), st.integers(0, 4096), st.integers(1, 512)),
    )

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(sorted(seeds)), st.lists(mutation, min_size=1, max_size=6),
           st.sampled_from([".wav", ".flac", ".mp3", ".m4a"]))
    def fuzz(kind: str, mutations, suffix: str) -> None:
        data = bytearray(seeds[kind])
        for op, pos, arg in mutations:
            if not data:
                break
            pos %= len(data)
            if op == "flip":
                data[pos] ^= 1 << arg
            elif op == "set":
                data[pos: pos + len(arg)] = arg
            elif op == "cut":
                del data[pos:]
            else:
                data[pos:pos] = data[pos: pos + arg]
        path = folder / f"case{suffix}"
        path.write_bytes(bytes(data))
        counter[0] += 1
        for reader in (probe, load_audio):
            try:
                result = reader(path)
            except AudioLoadError:
                continue
            if reader is load_audio:
                assert result.samples.dtype == np.float32 and result.samples.ndim == 2
                assert np.isfinite(result.samples).all()

    fuzz()
    print(f"FUZZ OK {counter[0]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
