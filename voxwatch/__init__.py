"""voxwatch: real-time detection of machine-generated speech in live audio streams."""

__version__ = "0.1.0"
