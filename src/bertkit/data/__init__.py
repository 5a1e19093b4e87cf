"""Pre-training data: reading corpora (corpus.py), tokenizing them into shards (prepare.py, shards.py),
building NSP pairs (instances.py), masking (masking.py) and batching (loader.py)."""

from bertkit.data.loader import PretrainingData
from bertkit.data.prepare import prepare_corpus

__all__ = ["PretrainingData", "prepare_corpus"]
