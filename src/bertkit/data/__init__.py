"""Pre-training data: reading corpora (corpus.py), tokenizing them into shards (prepare.py, shards.py),
building NSP pairs (instances.py), masking (masking.py) and batching (loader.py)."""
