"""Multichannel Wiener filtering of separation estimates: pure functions on tensors.

The local Gaussian model (Duong, Vincent & Gribonval 2010): each source j is, in
every time-frequency bin, a zero-mean complex Gaussian with covariance
``v_j(f, t) R_j(f)`` (a power spectral density times a spatial covariance matrix).
Given estimates of the sources, the EM iterations of norbert (Liutkus & Stöter;
the scheme of Nugraha, Liutkus & Vincent 2016 as used by Open-Unmix) re-estimate
``v_j`` and ``R_j`` from the current estimates and separate the mixture again with
the Wiener gains ``v_j R_j (sum_k v_k R_k + reg I)^-1``.

Shapes: S sources, C channels (1 or 2), K frequency bins, T frames. Complex
spectra are ``(S, C, K, T)`` for sources and ``(C, K, T)`` for the mixture, as the
engine's ``dsp.stft`` lays them out. Everything runs in float64 / complex128: with
single precision the 2x2 inverses of nearly rank-one mixture covariances (dual-mono
songs, centred vocals) lose all their digits.

Where this differs from ``norbert.wiener`` on purpose:
- the mixture is normalised by ``max|x| / 10`` whatever its level (norbert only
  scales loud mixtures down), so the result does not depend on the song's gain;
- a dual-mono mixture is filtered as the mono signal it is (one channel, then
  copied), where the 2x2 model is singular;
- a silent mixture gives silent sources (no 0/0).
"""

from __future__ import annotations

import torch

EPS = float(torch.finfo(torch.float64).eps)


def local_gaussian_model(y: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Power spectral densities and spatial covariances of source estimates.

    Args:
        y: ``(S, C, K, T)`` complex source estimates.
        eps: added to the normalising weight of ``R`` (silent sources stay defined).

    Returns:
        ``v``: ``(S, K, T)`` mean power over channels; ``R``: ``(S, K, C, C)``
        ``sum_t y y^H / (eps + sum_t v)``.
    """
    v = y.abs().square().mean(dim=1)
    r = torch.einsum("sckt,sdkt->skcd", y, y.conj())
    r = r / (eps + v.sum(dim=-1))[..., None, None]
    return v, r


def mix_covariance(v: torch.Tensor, r: torch.Tensor, regularisation: float) -> torch.Tensor:
    """``(K, T, C, C)`` model covariance of the mixture: ``sum_j v_j R_j + reg I``.

    Args:
        v: ``(S, K, T)``; r: ``(S, K, C, C)``.
    """
    cxx = torch.einsum("skt,skcd->ktcd", v.to(r.dtype), r)
    eye = torch.eye(r.shape[-1], dtype=r.dtype, device=r.device)
    return cxx + regularisation * eye


def invert(m: torch.Tensor) -> torch.Tensor:
    """Inverse of ``(..., C, C)`` matrices, closed form for C = 1 and 2 (as norbert)."""
    c = m.shape[-1]
    if c == 1:
        return 1.0 / m
    if c == 2:
        a, b = m[..., 0, 0], m[..., 0, 1]
        cc, d = m[..., 1, 0], m[..., 1, 1]
        inv_det = 1.0 / (a * d - b * cc)
        return torch.stack([torch.stack([d, -b], -1), torch.stack([-cc, a], -1)], -2) \
            * inv_det[..., None, None]
    return torch.linalg.inv(m)


def apply_gains(v_j: torch.Tensor, r_j: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """One source's posterior mean ``v_j R_j Cxx^-1 x``, given ``z = Cxx^-1 x``.

    Args:
        v_j: ``(K, T)``; r_j: ``(K, C, C)``; z: ``(C, K, T)`` (see :func:`whiten`).

    Returns:
        ``(C, K, T)`` complex estimate.
    """
    return torch.einsum("kcd,dkt->ckt", r_j, z) * v_j.to(r_j.dtype)


def whiten(inv_cxx: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(C, K, T)`` ``Cxx^-1 x`` from ``(K, T, C, C)`` inverses and the ``(C, K, T)`` mixture;
    shared by every source's gain."""
    return torch.einsum("ktde,ekt->dkt", inv_cxx, x)


def expectation_maximization(y: torch.Tensor, x: torch.Tensor, iterations: int,
                             eps: float = EPS) -> torch.Tensor:
    """norbert's EM refinement: re-fit the Gaussian model, filter the mixture again.

    Args:
        y: ``(S, C, K, T)`` complex initial estimates (normalised like ``x``).
        x: ``(C, K, T)`` complex mixture.
        iterations: EM passes (0 returns ``y``).
        eps: regularisation: ``sqrt(eps) I`` is added to every mixture covariance.

    Returns:
        ``(S, C, K, T)`` refined estimates.
    """
    regularisation = eps ** 0.5
    for _ in range(iterations):
        v, r = local_gaussian_model(y, eps)
        z = whiten(invert(mix_covariance(v, r, regularisation)), x)
        y = torch.stack([apply_gains(v[j], r[j], z) for j in range(y.shape[0])])
    return y


def wiener(y: torch.Tensor, x: torch.Tensor, iterations: int = 1,
           eps: float = EPS) -> torch.Tensor:
    """Refine complex source estimates of a mixture with the multichannel Wiener filter.

    Args:
        y: ``(S, C, K, T)`` complex estimates (e.g. masked mixture spectra).
        x: ``(C, K, T)`` complex mixture.
        iterations: EM iterations.

    Returns:
        ``(S, C, K, T)`` complex128 estimates, at the mixture's own scale.
    """
    y = y.to(torch.complex128)
    x = x.to(torch.complex128)
    peak = float(x.abs().max()) if x.numel() else 0.0
    if peak == 0.0 or iterations <= 0:
        return y if peak else torch.zeros_like(y)
    if x.shape[0] == 2 and torch.equal(x[0], x[1]):
        mono = wiener(y.mean(dim=1, keepdim=True), x[:1], iterations, eps)
        return mono.expand(-1, 2, -1, -1).contiguous()
    scale = peak / 10.0
    return expectation_maximization(y / scale, x / scale, iterations, eps) * scale
