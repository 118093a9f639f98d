"""Names the window and its helpers share (kept apart so neither imports the other)."""

APP_NAME = "stemsplit"


def display_name(stem: str) -> str:
    """How the window writes a stem's name, everywhere: "vocals" -> "Vocals".

    Files keep the model's own names (``<stem>`` in the export pattern); only what
    the window shows is capitalised, and the same way in every place.
    """
    return stem[:1].upper() + stem[1:] if stem else stem
