"""Ensembles of installed models (UVR's "Ensemble mode"): several models, one set of stems.

``spec`` parses ``A+B`` (with optional weights and method) and keeps saved presets,
``combine`` holds the pure combination rules (average of waveforms, max/min of
magnitude spectrograms), ``engine`` runs the members and combines their stems,
``catalogue`` turns a spec or a preset into a ``ModelInfo`` the registry serves.
"""
