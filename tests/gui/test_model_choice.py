"""Choosing a model that is not installed offers to download it; nothing changes until it is."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog

from stemsplit.core.models import store as model_store


def _pick(window, name: str) -> None:
    combo = window.run_panel.model
    index = combo.findData(name)
    assert index >= 0, f"{name} is not offered"
    combo.setCurrentIndex(index)
    combo.activated.emit(index)  # what a user's choice in the list sends


def _install_random_weights(name: str) -> None:
    """Real weights files in the store's format (the network's values do not matter here)."""
    from stemsplit.core.models.registry import get_model
    from stemsplit.core.models.spleeter.unet import UNet
    from stemsplit.core.models.weights_file import write_weights

    info = get_model(name)
    states = [{k: v.detach().numpy() for k, v in UNet(info.unet).state_dict().items()
               if not k.endswith("num_batches_tracked")} for _ in info.stems]
    write_weights(model_store.weights_path(name), name, states)
    assert info.is_installed()


def test_choosing_a_missing_model_offers_the_download(window, qtbot):
    combo = window.run_panel.model
    assert "(not installed)" in combo.itemText(combo.findData("4stems"))
    _pick(window, "4stems")
    dialog = window.download_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.model == "4stems" and "MB" in dialog.explain.text()
    assert window.session.model_name == "2stems"  # nothing changes until it is installed

    dialog.reject()
    assert dialog.result() == QDialog.Rejected
    assert combo.currentData() == "2stems"  # the list shows the model in use again
    assert window.prefs.get("model", "2stems") == "2stems"


def test_once_installed_the_model_is_chosen_and_remembered(window, qtbot, tmp_path):
    _pick(window, "5stems")
    dialog = window.download_dialog
    _install_random_weights("5stems")
    dialog._on_succeeded(str(model_store.weights_path("5stems").parent))  # the thread's report
    assert dialog.result() == QDialog.Accepted
    combo = window.run_panel.model
    assert combo.currentData() == "5stems"
    assert "(not installed)" not in combo.currentText()
    assert window.session.model_name == "5stems"
    assert window.prefs.get("model") == "5stems"
    assert window.session.model_choice().installed
