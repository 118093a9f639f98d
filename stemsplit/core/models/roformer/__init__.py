"""BS-RoFormer and Mel-Band RoFormer: band-split transformers over the complex spectrogram.

``config`` reads the community's YAML configs (ZFTurbo's Music-Source-Separation-Training
layout, also used by UVR and python-audio-separator), ``layers`` and ``model`` hold the
networks, ``spec`` the STFT around them, ``engine`` runs a song chunk by chunk,
``checkpoint`` reads ``.ckpt`` files without running pickle code, ``pretrained`` and
``store`` list, download and install the published checkpoints.
"""
