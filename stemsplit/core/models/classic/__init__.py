"""Classic separators that need no weights: HPSS, REPET-SIM, centre extraction.

They are the signal-processing baselines that music source separation grew
from, run by the same chunked engine as the networks (live masks, progress,
cancel, exact sum-to-mix). ``masks`` holds the pure mask functions,
``engine`` the separator, ``catalogue`` the registry entries.
"""
