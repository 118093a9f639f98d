"""Pure computation: audio I/O, DSP, the U-Net and the separation engine.

Nothing here imports Qt or touches an audio device (checked by import-linter).
"""
