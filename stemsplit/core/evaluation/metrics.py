"""BSS Eval v4 (SDR, ISR, SIR, SAR) as ``museval`` computes it, and the MDX global SDR.

BSS Eval v4 (Liutkus, Stöter & Ito, "The 2018 Signal Separation Evaluation
Campaign", LVA/ICA 2018; after Vincent, Gribonval & Févotte 2006) decomposes each
estimate into the true source image, a spatial distortion, interference from the
other sources and artifacts, with multichannel time-invariant distortion filters of
512 taps computed **once on the whole track**, then measures energy ratios on
non-overlapping 1 s windows. A window where any reference or estimate is silent is
NaN (and skipped by the median). SiSEC/MUS report the median over windows per track.

This module reproduces ``museval.evaluate(..., mode="v4")`` (``bss_eval_images``
version, no permutation) to well within 0.01 dB, vectorised over windows and
without importing museval. Shapes: S sources, C channels, N samples, W windows.

The MDX challenge's global SDR (Mitsufuji et al. 2021) is
``10 log10((sum s^2 + 1e-7) / (sum (s - s_hat)^2 + 1e-7))`` over the whole track.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FILTER_LEN = 512
CORR_BLOCK = 1 << 18  # samples per block of the correlations
WINDOW_BATCH = 16  # windows scored at once: bounds memory on long tracks
MDX_DELTA = 1e-7
METRICS = ("SDR", "ISR", "SIR", "SAR")


@dataclass(frozen=True)
class BssScores:
    """Framewise BSS Eval v4 scores, each ``(S, W)`` float64 in dB (NaN: silent window).

    Attributes:
        window_s: seconds per window (and hop), for plotting over time.
    """

    sdr: np.ndarray
    isr: np.ndarray
    sir: np.ndarray
    sar: np.ndarray
    window_s: float

    def framewise(self, metric: str) -> np.ndarray:
        return {"SDR": self.sdr, "ISR": self.isr, "SIR": self.sir, "SAR": self.sar}[metric]

    def median(self) -> dict[str, np.ndarray]:
        """Per source, the median over non-NaN windows (museval's track aggregate)."""
        return {m: _nanmedian(self.framewise(m)) for m in METRICS}


def _nanmedian(x: np.ndarray) -> np.ndarray:
    out = np.full(x.shape[0], np.nan)
    for i, row in enumerate(x):
        if not np.isnan(row).all():
            out[i] = np.nanmedian(row)
    return out


def global_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """The MDX challenge's SDR of one stem: ``reference``, ``estimate`` of equal shape."""
    ref = np.asarray(reference, np.float64)
    err = ref - np.asarray(estimate, np.float64)
    return float(10 * np.log10((np.sum(ref ** 2) + MDX_DELTA) / (np.sum(err ** 2) + MDX_DELTA)))


def bss_eval(references: np.ndarray, estimates: np.ndarray, sample_rate: int = 44100,
             window_s: float = 1.0, filter_len: int = FILTER_LEN) -> BssScores:
    """BSS Eval v4 images metrics of every source on ``window_s`` windows.

    Args:
        references: ``(S, C, N)`` true source images (S >= 1; museval needs S >= 2 to
            measure interference meaningfully).
        estimates: ``(S, C, N)`` estimates in the same order.
        sample_rate: to turn ``window_s`` into samples.

    Returns:
        BssScores with ``(S, W)`` arrays, W = N // window (one window if shorter).
    """
    refs = np.asarray(references, np.float64)
    ests = np.asarray(estimates, np.float64)
    if refs.shape != ests.shape or refs.ndim != 3:
        raise ValueError(f"references {refs.shape} and estimates {ests.shape} must both be "
                         "(sources, channels, samples)")
    n_src, n_ch, n = refs.shape
    win = int(window_s * sample_rate)
    starts = [0] if win >= n else list(range(0, n - win + 1, win))
    length = n if win >= n else win

    gram = _reference_correlations(refs, filter_len)
    # Filters projecting each estimate on all references (C) and on its own (Cj).
    c_all = _projection_filters(gram, refs, ests)                    # (S, S, C, L, C)
    c_own = np.stack([
        _projection_filters(_own_block(gram, j, n_ch, filter_len), refs[j: j + 1],
                            ests[j: j + 1])[0]
        for j in range(n_src)])                                     # (S, 1, C, L, C)

    n_win = len(starts)
    out = np.full((4, n_src, n_win), np.nan)
    for first in range(0, n_win, WINDOW_BATCH):
        batch = starts[first: first + WINDOW_BATCH]
        out[:, :, first: first + len(batch)] = _window_scores(refs, ests, batch, length,
                                                              c_all, c_own)
    return BssScores(out[0], out[1], out[2], out[3], length / sample_rate)


def _window_scores(refs: np.ndarray, ests: np.ndarray, starts: list[int], length: int,
                   c_all: np.ndarray, c_own: np.ndarray) -> np.ndarray:
    """``(4, S, len(starts))`` SDR, ISR, SIR, SAR of the windows starting at ``starts``."""
    n_src, n_ch, _ = refs.shape
    filter_len = c_all.shape[-2]
    seg_refs = np.stack([refs[..., s: s + length] for s in starts])   # (W, S, C, length)
    seg_ests = np.stack([ests[..., s: s + length] for s in starts])
    # museval's silence test: a source whose channel sum is zero throughout the window.
    silent = (np.all(seg_refs.sum(axis=2) == 0, axis=-1).any(axis=-1) |
              np.all(seg_ests.sum(axis=2) == 0, axis=-1).any(axis=-1))
    full = length + filter_len - 1
    n_fft = 1 << int(np.ceil(np.log2(full)))
    ref_f = np.fft.rfft(seg_refs, n=n_fft, axis=-1)                   # (W, S, C, F)
    out = np.empty((4, n_src, len(starts)))
    for j in range(n_src):
        f_all = np.fft.rfft(c_all[j], n=n_fft, axis=-2)               # (S, C, F, C)
        f_own = np.fft.rfft(c_own[j, 0], n=n_fft, axis=-2)            # (C, F, C)
        proj_all = np.fft.irfft(np.einsum("wscf,scfd->wdf", ref_f, f_all), n=n_fft,
                                axis=-1)[..., :full]                   # (W, C, full)
        proj_own = np.fft.irfft(np.einsum("wcf,cfd->wdf", ref_f[:, j], f_own), n=n_fft,
                                axis=-1)[..., :full]
        s_true = np.zeros((len(starts), n_ch, full))
        s_true[..., :length] = seg_refs[:, j]
        est = np.zeros_like(s_true)
        est[..., :length] = seg_ests[:, j]
        e_true = _energy(s_true)
        out[0, j] = _db(e_true, _energy(est - s_true))
        out[1, j] = _db(e_true, _energy(proj_own - s_true))
        out[2, j] = _db(_energy(proj_own), _energy(proj_all - proj_own))
        out[3, j] = _db(_energy(proj_all), _energy(est - proj_all))
    out[:, :, silent] = np.nan
    return out


def _energy(x: np.ndarray) -> np.ndarray:
    return np.sum(x ** 2, axis=(-1, -2))


def _db(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den == 0, np.inf, 10 * np.log10(num / np.where(den == 0, 1, den)))


def _xcorr(a: np.ndarray, b: np.ndarray, filter_len: int) -> np.ndarray:
    """``(P, Q, 2L - 1)`` cross-correlations ``sum_n b[q, n + k] a[p, n]`` for |k| < L.

    Computed block by block (overlap-save), so a long track never needs one FFT of
    its whole length. Index ``k + L - 1`` holds lag k.
    """
    n = a.shape[-1]
    lead = filter_len - 1
    block = min(n, CORR_BLOCK)
    n_fft = 1 << int(np.ceil(np.log2(block + 2 * lead)))
    b_pad = np.pad(b, ((0, 0), (lead, lead + block)))
    out = np.zeros((a.shape[0], b.shape[0], 2 * lead + 1))
    for s in range(0, n, block):
        fa = np.fft.rfft(a[:, s: s + block], n=n_fft)
        fb = np.fft.rfft(b_pad[:, s: s + block + 2 * lead], n=n_fft)
        out += np.fft.irfft(np.conj(fa)[:, None] * fb[None], n=n_fft)[..., : 2 * lead + 1]
    return out


def _reference_correlations(refs: np.ndarray, filter_len: int) -> np.ndarray:
    """Gram matrix ``(S*C*L, S*C*L)`` of the references' delayed copies, ordered
    (source, channel, lag) as museval's."""
    n_src, n_ch, n = refs.shape
    flat = refs.reshape(n_src * n_ch, n)
    xc = np.empty((len(flat), len(flat), 2 * filter_len - 1))         # (P, P, 2L-1)
    for p in range(len(flat)):  # xc[q, p] is xc[p, q] reversed: compute half
        xc[p, p:] = _xcorr(flat[p: p + 1], flat[p:], filter_len)[0]
        xc[p + 1:, p] = xc[p, p + 1:, ::-1]
    lag = filter_len - 1 + np.arange(filter_len)[None, :] - np.arange(filter_len)[:, None]
    # gram[(q, i), (p, j)] = <ref_q delayed by i, ref_p delayed by j> = xc[p, q, L-1+j-i]
    g = xc[:, :, lag]                                                 # (P, Q, i, j)
    size = n_src * n_ch * filter_len
    return np.ascontiguousarray(g.transpose(1, 2, 0, 3).reshape(size, size))


def _own_block(gram: np.ndarray, j: int, n_ch: int, filter_len: int) -> np.ndarray:
    """The Gram matrix of source ``j``'s own delayed copies (all its channels)."""
    size = n_ch * filter_len
    return gram[j * size: (j + 1) * size, j * size: (j + 1) * size]


def _projection_filters(gram: np.ndarray, refs: np.ndarray, estimates: np.ndarray
                        ) -> np.ndarray:
    """Least-squares filters mapping the references' delayed copies onto each estimate.

    Args:
        gram: Gram matrix of the ``refs``' delayed copies.
        refs: ``(S', C, N)`` references.
        estimates: ``(E, C, N)``, all solved with one factorisation.

    Returns:
        ``(E, S', C, L, C)`` filters: estimate, source, reference channel, lag, estimate
        channel.
    """
    n_src, n_ch, n = refs.shape
    n_est = estimates.shape[0]
    filter_len = gram.shape[0] // (n_src * n_ch)
    xc = _xcorr(estimates.reshape(n_est * n_ch, n), refs.reshape(n_src * n_ch, n), filter_len)
    # d[(s, cr, l), (e, ce)] = sum_n ref[s, cr, n - l] est[e, ce, n]: lag -l.
    lags = xc[..., filter_len - 1 - np.arange(filter_len)]            # (E*Ce, S*Cr, L)
    d = lags.reshape(n_est * n_ch, n_src * n_ch * filter_len).T
    eps = np.finfo(float).eps
    try:  # museval's regularised LU solve
        c = np.linalg.solve(gram + eps * np.eye(gram.shape[0]), d)
    except np.linalg.LinAlgError:
        c = np.linalg.lstsq(gram, d, rcond=None)[0]
    return np.moveaxis(c.reshape(n_src, n_ch, filter_len, n_est, n_ch), 3, 0)
