"""Names the window and its helpers share (kept apart so neither imports the other)."""

APP_NAME = "stemsplit"
