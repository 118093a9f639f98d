"""Measuring separations: reference datasets, BSS Eval metrics, ideal-mask oracles, reports.

- ``datasets``: find and read tracks with reference stems (MUSDB18 ``.stem.mp4``,
  MUSDB18-HQ folders, a folder of ``mix`` + stem files) and estimates written by any tool.
- ``metrics``: BSS Eval v4 (SDR, ISR, SIR, SAR on 1 s windows, as ``museval``) and the
  MDX challenge's global SDR.
- ``oracle``: ideal ratio / binary masks and the oracle multichannel Wiener filter,
  the upper bounds of mask-based models.
- ``report``: aggregation over tracks, JSON / CSV and the PNG report.

Nothing here runs a model; ``cli.evaluate`` (and training) bring the separations.
"""
