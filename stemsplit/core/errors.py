"""Exceptions the engine raises on purpose; each carries a message fit for a user."""


class StemsplitError(Exception):
    """Base class: the message is shown to users as it is."""


class AudioLoadError(StemsplitError):
    """A file could not be decoded (missing, empty, corrupt, unsupported)."""


class AudioWriteError(StemsplitError):
    """An output could not be written (disk full, read-only folder, exists)."""


class ModelError(StemsplitError):
    """Model weights are missing or do not match the architecture."""


class Cancelled(StemsplitError):
    """A run was cancelled through its threading.Event."""

    def __init__(self, message: str = "Cancelled") -> None:
        super().__init__(message)


class DatasetError(StemsplitError):
    """A folder of reference stems (or of estimates) cannot be scored as it is."""
