"""The one sample rate inside voxwatch: every source resamples to it, and every stage counts samples at it."""

SAMPLE_RATE = 16000
