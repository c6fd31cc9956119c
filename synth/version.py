"""The version of synth, in the bottom layer so every module (the batch
library as well as the CLI) can tag its output with it."""

__version__ = "0.1.0"
