"""The download dialog for a RoFormer: its no-licence terms, then install from its two files."""

from __future__ import annotations

import io

import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialog

from stemsplit.core.models.roformer import pretrained, store
from stemsplit.gui.models.download_dialog import ModelDownloadDialog
from tests.core.models.roformer._small import reference_and_weights, small_config, small_yaml

NAME = "mel-roformer-viperx-1143"  # no published SHA-256: a test file can install


def test_terms_first_then_install_from_ckpt_and_yaml(qtbot, tmp_path):
    model = pretrained.get(NAME)
    weights = reference_and_weights(small_config(arch="mel", chunk_frames=40), seed=7)[1]
    ckpt, yaml = tmp_path / model.ckpt, tmp_path / model.yaml
    buffer = io.BytesIO()
    torch.save(weights.state, buffer)
    ckpt.write_bytes(buffer.getvalue())
    yaml.write_text(small_yaml("mel", chunk_frames=40))

    dialog = ModelDownloadDialog(NAME, title="Mel-Band RoFormer (test)")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert "personal use at your own risk" in dialog.licence.terms.toPlainText()
    assert not dialog.from_file_button.isEnabled()  # nothing before the terms are accepted
    assert "2 files" in dialog.from_file_button.toolTip()
    checkbox = dialog.licence.checkbox
    qtbot.mouseClick(checkbox, Qt.LeftButton, pos=QPoint(8, checkbox.height() // 2))
    assert dialog.from_file_button.isEnabled()
    with qtbot.waitSignal(dialog.installed, timeout=120_000):
        dialog.install_from_file([ckpt, yaml])
    assert dialog.result() == QDialog.Accepted and store.is_installed(NAME)
