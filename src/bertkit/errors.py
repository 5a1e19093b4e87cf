"""User-facing errors: each message names the file or argument at fault and what to do about it.

The CLI prints `bertkit: error: <message>` and exits 2 for these; anything else is a bug in bertkit.
"""


class BertkitError(Exception):
    """Base class for every error a user can cause."""


class InvalidArgumentError(BertkitError, ValueError):
    """An argument or configuration value is out of range or inconsistent."""


class FileFormatError(BertkitError, ValueError):
    """A file is missing, unreadable, not UTF-8, truncated or not what it claims to be."""


class CheckpointError(BertkitError, ValueError):
    """A checkpoint cannot be loaded: no weights, shapes that disagree with the config, a corrupt file."""


class TrainingError(BertkitError, RuntimeError):
    """Training cannot go on: non-finite loss, nothing to resume from, data that does not match."""
