"""Errors that mean "the user asked for something we cannot do".

The CLI prints these as one line (``voxwatch: error: ...``) and exits non-zero instead of showing a traceback;
anything else escaping is a bug and keeps its traceback.
"""


class VoxwatchError(Exception):
    """A user-facing error: bad input, bad configuration, missing optional dependency."""


class AudioDecodeError(VoxwatchError):
    """An input file could not be read as audio. The message names the file and the reason."""


class ConfigError(VoxwatchError):
    """The configuration file is missing, unparsable or holds an invalid value."""


class ModelError(VoxwatchError):
    """A model file or its card is missing, unreadable or does not fit the pipeline's settings."""


class CurveError(VoxwatchError):
    """A key file or allow-list directory is missing, unreadable, or the CURVE options do not fit together."""
