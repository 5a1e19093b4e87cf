"""One split of prepared data (training or held-out) read as one corpus: where every batch source starts.

The shards (shards.py) hold documents in reading order with a held-out flag each; a split's index lists its
documents' sentences across all shards, numbered from 0, so planning an epoch is arithmetic on small arrays
and only the tokens a batch needs are read.
"""

from pathlib import Path

import numpy as np

from bertkit.data.shards import Manifest, read_shard
from bertkit.errors import TrainingError
from bertkit.tokenizer import WordPieceTokenizer

SPLITS = ("train", "heldout")


class SplitIndex:
    """One split's documents across all shards, numbered as one corpus: sentence lengths and where their
    tokens live. Token arrays are opened (memory-mapped) lazily, so the index pickles cheaply to workers."""

    def __init__(self, data_dir: Path, manifest: Manifest, split: str) -> None:
        self.data_dir, self.manifest = data_dir, manifest
        lengths, token_starts, shard_ids, doc_sizes = [], [], [], []
        for shard_id, info in enumerate(manifest.shards):
            shard = read_shard(data_dir, info)
            sentences, documents = np.asarray(shard.sentences), np.asarray(shard.documents)
            wanted = np.asarray(shard.heldout) == (split == "heldout")
            sizes = np.diff(documents)[wanted]
            # Sentence numbers of the wanted documents, in order.
            first = np.repeat(documents[:-1][wanted], sizes)
            within = np.arange(len(first)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            picked = first + within
            lengths.append(sentences[picked + 1] - sentences[picked])
            token_starts.append(sentences[picked])
            shard_ids.append(np.full(len(picked), shard_id, dtype=np.int32))
            doc_sizes.append(sizes)
        self.sentence_lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
        self.token_starts = np.concatenate(token_starts) if token_starts else np.zeros(0, np.int64)
        self.shard_ids = np.concatenate(shard_ids) if shard_ids else np.zeros(0, np.int32)
        sizes = np.concatenate(doc_sizes) if doc_sizes else np.zeros(0, np.int64)
        self.document_offsets = np.concatenate(([0], np.cumsum(sizes)))
        self._tokens: list[np.ndarray] | None = None

    @property
    def num_documents(self) -> int:
        return len(self.document_offsets) - 1

    def document_lengths(self) -> np.ndarray:
        """Tokens per document (every document has at least one sentence: `prepare` drops empty ones)."""
        return np.add.reduceat(self.sentence_lengths, self.document_offsets[:-1])

    def tokens(self, start: int, end: int) -> np.ndarray:
        """Token ids of sentences [start, end), which lie in one document and so in one shard."""
        last = self.token_starts[end - 1] + self.sentence_lengths[end - 1]
        return self._read(self.shard_ids[start], self.token_starts[start], last)

    def document_tokens(self, document: int, start: int, end: int) -> np.ndarray:
        """Token ids [start, end) of a document: its sentences lie back to back in one shard."""
        sentence = self.document_offsets[document]
        first = self.token_starts[sentence]
        return self._read(self.shard_ids[sentence], first + start, first + end)

    def _read(self, shard: int, first: int, last: int) -> np.ndarray:
        if self._tokens is None:
            self._tokens = [read_shard(self.data_dir, info).tokens for info in self.manifest.shards]
        return np.asarray(self._tokens[shard][first:last], dtype=np.int64)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_tokens": None}


def open_split(
    data_dir: str | Path, tokenizer: WordPieceTokenizer | str | Path, split: str
) -> tuple[SplitIndex, WordPieceTokenizer]:
    """The index of a non-empty split of complete data, and the tokenizer (loaded if given as a directory),
    checked to be the one the data was prepared with."""
    if not isinstance(tokenizer, WordPieceTokenizer):
        tokenizer = WordPieceTokenizer.from_pretrained(tokenizer)
    data_dir = Path(data_dir)
    manifest = Manifest.load(data_dir)
    if not manifest.complete:
        raise TrainingError(
            f"{data_dir}: `bertkit prepare` did not finish writing this data; rerun the same command to resume it"
        )
    check_tokenizer(manifest, tokenizer, data_dir)
    index = SplitIndex(data_dir, manifest, split)
    if index.num_documents == 0:
        hint = ""
        if split == "heldout":
            hint = (
                f" (prepared with heldout_fraction {manifest.heldout_fraction}, which held out none of its "
                f"{manifest.total('documents')} documents; prepare again with a larger fraction)"
            )
        raise TrainingError(f"{data_dir}: the {split} split has no documents{hint}")
    return index, tokenizer


def check_tokenizer(manifest: Manifest, tokenizer: WordPieceTokenizer, data_dir: Path) -> None:
    """Prepared ids mean nothing under another vocabulary: refuse a tokenizer other than the data's."""
    fingerprint = tokenizer.fingerprint()
    if fingerprint != manifest.tokenizer_fingerprint:
        raise TrainingError(
            f"{data_dir}: prepared with tokenizer {manifest.tokenizer_fingerprint}, but the tokenizer given is "
            f"{fingerprint}; pass the tokenizer the data was prepared with, or re-run `bertkit prepare` "
            "with this one"
        )
