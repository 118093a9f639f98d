"""stemsplit: a desktop stem splitter for musicians."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stemsplit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
