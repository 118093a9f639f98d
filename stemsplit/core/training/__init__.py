"""Training Spleeter-family U-Nets on a user's own stems (``stemsplit train``).

``data`` reads tracks and draws augmented windows, ``trainer`` runs the loss,
optimiser, validation and early stopping, ``state`` checkpoints a run so
``--resume`` continues it exactly, ``report`` draws the curves. The result is a
model in the store (``models.spleeter.trained``), run by the same engine as
the built-in one.
"""
