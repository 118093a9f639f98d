"""Hybrid Transformer Demucs (HT-Demucs), run by stemsplit's own engine.

The architecture follows Simon Rouard and Alexandre Défossez's Hybrid
Transformer Demucs as published in the ``demucs`` package (MIT code,
facebookresearch/demucs); this is stemsplit's own implementation of it, checked
against that package in ``tests/core/models/htdemucs/test_port.py``. The pretrained
weights are *not* MIT: their author states they are for research purposes only
(see ``pretrained.LICENCE``); stemsplit bundles none and downloads them only
after the user accepts those terms.

Modules:
    config       the hyper-parameters (a checkpoint's ``kwargs``), checked.
    spec         STFT / iSTFT with the model's padding.
    layers       encoder/decoder layers, DConv, LayerScale, frequency embedding.
    transformer  the cross-domain transformer and its positional embeddings.
    model        the ``HTDemucs`` nn.Module.
    apply        chunking with overlap-add, shifts, bags of models.
    checkpoint   safe loading of demucs's pickled files, our safetensors format.
    pretrained   the published models: files, checksums, bag weights, licence.
    store        download, verify, convert, install (after licence acceptance).
    engine       ``HTDemucsSeparator``: what ``load_separator(name)`` gives for these models.
    catalogue    the published models' registry entries and the engine factory.
"""
