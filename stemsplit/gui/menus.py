"""The window's menus and their shortcuts (shown in the menus themselves)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence


def _action(window, text: str, slot, shortcuts=(), tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcuts:
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    return action


def build(window) -> dict[str, QAction]:
    """Create the menu bar of ``window`` (a MainWindow); returns the actions by key."""
    bar = window.menuBar()
    a: dict[str, QAction] = {}

    file_menu = bar.addMenu("&File")
    a["open"] = _action(window, "&Open…", window.open_dialog, [QKeySequence.Open],
                        "Open a song")
    file_menu.addAction(a["open"])
    window.recent_menu = file_menu.addMenu("Open &Recent")
    file_menu.addSeparator()
    a["export"] = _action(window, "&Export Stems…", window.export_stems, ["Ctrl+E"],
                          "Write the stems as audio files")
    file_menu.addAction(a["export"])
    file_menu.addSeparator()
    a["quit"] = _action(window, "&Quit", window.close, [QKeySequence.Quit])
    file_menu.addAction(a["quit"])

    run_menu = bar.addMenu("&Separate")
    a["separate"] = _action(window, "&Separate", window.separate,
                            ["Ctrl+Return", "Ctrl+Enter"], "Split the song into stems")
    run_menu.addAction(a["separate"])
    a["cancel"] = _action(window, "&Cancel", window.cancel, ["Esc"], "Stop the separation")
    run_menu.addAction(a["cancel"])
    run_menu.addSeparator()
    a["train"] = _action(window, "&Train a Model…", window.open_train_dialog, [],
                         "Fine-tune a U-Net on your own songs' stems")
    run_menu.addAction(a["train"])

    view_menu = bar.addMenu("&View")
    a["fit"] = _action(window, "&Fit Song", window.view.fit, ["Ctrl+0"],
                       "Show the whole song (or double-click the spectrogram)")
    view_menu.addAction(a["fit"])
    a["zoom_in"] = _action(window, "Zoom &In", lambda: _zoom(window, 0.5), ["Ctrl++", "Ctrl+="])
    a["zoom_out"] = _action(window, "Zoom &Out", lambda: _zoom(window, 2.0), ["Ctrl+-"])
    view_menu.addAction(a["zoom_in"])
    view_menu.addAction(a["zoom_out"])
    view_menu.addSeparator()
    a["log_scale"] = QAction("&Logarithmic Frequency Axis", window)
    a["log_scale"].setCheckable(True)
    a["log_scale"].setChecked(True)
    a["log_scale"].setShortcut(QKeySequence("Ctrl+L"))
    a["log_scale"].toggled.connect(
        lambda on: window.stem_list.set_scale("log" if on else "linear"))
    view_menu.addAction(a["log_scale"])
    a["show_mix"] = _action(window, "Show &Mixture + Masks", lambda: window.set_view_mode(),
                            ["Ctrl+M"])
    view_menu.addAction(a["show_mix"])

    help_menu = bar.addMenu("&Help")
    a["demo"] = _action(window, "Open &Demo Song", window.open_demo, ["Ctrl+D"],
                        "Open the short demo song that ships with the model")
    help_menu.addAction(a["demo"])
    a["shortcuts"] = _action(window, "&Keyboard Shortcuts", lambda: _show_shortcuts(window),
                             ["F1"])
    help_menu.addAction(a["shortcuts"])
    help_menu.addSeparator()
    a["about"] = _action(window, "&About stemsplit", window.show_about)
    help_menu.addAction(a["about"])
    for action in a.values():
        window.addAction(action)  # shortcuts work even when the menu bar is hidden
    return a


def _show_shortcuts(window):
    from stemsplit.gui.shortcuts_dialog import ShortcutsDialog, grouped_rows

    groups = grouped_rows(window.menuBar(), window.actions.values(),
                          getattr(window, "playback", None) is not None)
    dialog = ShortcutsDialog(groups, window)
    dialog.open()
    return dialog


def _zoom(window, factor: float) -> None:
    start, end = window.view.x_range()
    centre, half = (start + end) / 2, (end - start) * factor / 2
    window.view.set_x_range(centre - half, centre + half)


def fill_recent(window) -> None:
    """Rebuild File > Open Recent from the preferences."""
    menu = window.recent_menu
    menu.clear()
    files = window.prefs.recent_files()
    for i, path in enumerate(files):
        label = f"&{i + 1} {Path(path).name}" if i < 9 else Path(path).name
        action = menu.addAction(label)
        action.setToolTip(path)
        action.setStatusTip(path)
        action.triggered.connect(lambda _c=False, p=path: window.open_path(p))
    if files:
        menu.addSeparator()
        menu.addAction("Clear Recent", lambda: (window.prefs.clear_recent(), fill_recent(window)))
    menu.setEnabled(bool(files))
