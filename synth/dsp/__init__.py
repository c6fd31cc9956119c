"""Pure DSP kernels: NumPy arrays in, arrays out, no I/O, state in and out.

Conventions: ``sr`` is the sample rate in Hz (keyword-only); frequencies in
Hz; phase in cycles (unwrapped: a kernel returns the phase *after* its last
sample so the next block continues exactly); time is the last axis.  Band-
limited kernels carry plain names (``saw``); aliasing versions are named
``naive_*``.
"""
