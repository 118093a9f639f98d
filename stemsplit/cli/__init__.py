"""The command line: ``stemsplit separate | models | ...`` (``main`` parses the arguments)."""
