"""The desktop window (PySide6 + pyqtgraph); the only package that imports Qt.

Start it with ``stemsplit.gui.app.run(paths)``.
"""

import os

# Runs before any module of this package imports pyqtgraph: it must bind to PySide6,
# never to a stray PyQt that happens to be installed.
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
