"""synth: compose and render Fairlight-CMI-style synthesizer music."""

__version__ = "0.1.0"
