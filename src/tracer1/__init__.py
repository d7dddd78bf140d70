"""tracer1: train anticipatory GUI and tool-use agents with the TraceR1 recipe.

A plain package: it never imports its orchestrators (kfp, dvc) and does
nothing at import time.
"""

__version__ = "0.1.0"
