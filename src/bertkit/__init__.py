"""bertkit: BERT from scratch, exact against Hugging Face."""

from bertkit.errors import BertkitError, CheckpointError, FileFormatError, InvalidArgumentError, TrainingError

__all__ = [
    "BertkitError",
    "CheckpointError",
    "FileFormatError",
    "InvalidArgumentError",
    "TrainingError",
]
