"""Pre-training data: reading corpora (corpus.py), tokenizing them into shards (prepare.py, shards.py), a split
of them as one corpus (split.py), building NSP pairs (instances.py), masking (masking.py), and batching:
endless, resumable, split across ranks (epochs.py), of masked pairs (loader.py) or of packed documents for a
causal language model (lm_loader.py)."""

from bertkit.data.lm_loader import CausalLMData
from bertkit.data.loader import PretrainingData
from bertkit.data.prepare import prepare_corpus

__all__ = ["CausalLMData", "PretrainingData", "prepare_corpus"]
