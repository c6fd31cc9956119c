"""Pure DSP kernels: NumPy arrays in, arrays out, no I/O, state in and out.

Modules, one DSP family each (stacked: none imports a sibling above it):

``oscillators``  band-limited saw/square/triangle/pulse (PWM), sine, hard sync,
                 ring modulation, unison stacks, white and pink noise, and the
                 ``naive_*`` aliasing versions
``additive``     harmonic pages (32 harmonics x 32 segments), inharmonic
                 partial sets (bells), drawn single cycles
``fm``           2- and 3-operator FM with an index limit against fold-over
``envelopes``    closed-form ADSR
``modulation``   LFOs, vibrato/tremolo, multi-segment envelopes, glide, pitch
                 envelopes, the CMI attack + damping envelope
``filters``      resonant LP/HP/BP 12/24 dB/oct (design separate from
                 application), swept filters, key tracking, the CMI output LP
``effects``      FDN reverb, delay, chorus, bit-crusher, decimator, saturation
``fairlight``    the CMI voice: 8-bit storage, per-voice clock, zero-order hold
                 put on the output grid with band-limited steps, Mode 1/4
``mix``          equal-power panning, soft limiter
``jit``          compiled kernels: numba imported on first use, its cache folder

Conventions: ``sr`` is the sample rate in Hz (keyword-only); frequencies in
Hz; phase in cycles (unwrapped: a kernel returns the phase *after* its last
sample so the next block continues exactly); time is the last axis; a
stateful kernel takes ``state=None`` (fresh) and returns its new state, so
processing in blocks equals one pass, bit for bit.
"""
