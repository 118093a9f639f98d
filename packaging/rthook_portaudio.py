"""PyInstaller runtime hook: make sounddevice load the PortAudio bundled with the app.

On Linux, sounddevice finds PortAudio with ``ctypes.util.find_library("portaudio")``,
which only searches the system (ldconfig), so a frozen app would ignore the
``libportaudio.so.2`` it ships and fail on a machine without ``libportaudio2``.
This hook runs before any app code and answers that one query with the bundled
file; every other name goes to the original function.
"""

import ctypes.util
import os
import sys


def _install() -> None:
    bundled = os.path.join(getattr(sys, "_MEIPASS", ""), "libportaudio.so.2")
    if not sys.platform.startswith("linux") or not os.path.isfile(bundled):
        return
    original = ctypes.util.find_library

    def find_library(name: str):
        if name == "portaudio":
            return bundled
        return original(name)

    ctypes.util.find_library = find_library


_install()
