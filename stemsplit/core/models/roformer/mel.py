"""Which STFT bins belong to which mel band (Mel-Band RoFormer's band split).

The network uses the *support* of librosa's Slaney-style mel filter bank
(``librosa.filters.mel(sr, n_fft, n_mels)``, non-zero weights) as overlapping
binary bands, with the very first and very last bin forced in. The arithmetic
below is librosa's, in the same order and precision, so the supports agree
exactly (checked against librosa in the tests); librosa itself is not imported.
"""

from __future__ import annotations

import numpy as np

_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asanyarray(hz, dtype=np.float64)
    mels = hz / _F_SP
    log = hz >= _MIN_LOG_HZ
    mels = np.where(log, _MIN_LOG_MEL + np.log(np.maximum(hz, 1e-300) / _MIN_LOG_HZ) / _LOGSTEP,
                    mels)
    return mels


def mel_to_hz(mels: np.ndarray) -> np.ndarray:
    mels = np.asanyarray(mels, dtype=np.float64)
    freqs = _F_SP * mels
    return np.where(mels >= _MIN_LOG_MEL,
                    _MIN_LOG_HZ * np.exp(_LOGSTEP * (mels - _MIN_LOG_MEL)), freqs)


def mel_filter_bank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """``(n_mels, n_fft // 2 + 1)`` float32 Slaney-normalised triangular filters."""
    fft_freqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2: n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def band_membership(sample_rate: int, n_fft: int, n_bands: int) -> np.ndarray:
    """``(n_bands, n_fft // 2 + 1)`` bool: bin ``f`` is in band ``b``."""
    bank = mel_filter_bank(sample_rate, n_fft, n_bands)
    bank[0, 0] = 1.0    # the DC bin has zero weight in the first filter: put it in
    bank[-1, -1] = 1.0  # the Nyquist bin's weight is ~1e-18 or exactly 0 depending on BLAS
    return bank > 0
