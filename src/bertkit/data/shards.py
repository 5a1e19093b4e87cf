"""The on-disk layout of prepared pre-training data: shard directories of numpy arrays and a JSON manifest.

    DATA_DIR/manifest.json
    DATA_DIR/shard-00000/tokens.npy     token ids of every sentence, back to back (uint16, or int32 for big vocabularies)
    DATA_DIR/shard-00000/sentences.npy  int64 offsets into tokens: sentence i is tokens[s[i]:s[i+1]]
    DATA_DIR/shard-00000/documents.npy  int64 offsets into sentences: document j is sentences d[j]..d[j+1]-1
    DATA_DIR/shard-00000/heldout.npy    bool per document: True for the held-out split

Plain `.npy` files open memory-mapped (`np.load(mmap_mode="r")`), so a reader touches only the pages it uses.
A shard is written into `shard-NNNNN.tmp/` and renamed when complete, and the manifest is rewritten (also via
a temporary name) after every shard, so an interrupted run leaves only whole shards that a rerun can keep.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bertkit.errors import FileFormatError
from bertkit.files import atomic_path, write_text_atomically

MANIFEST = "manifest.json"
FORMAT = "bertkit-pretraining-data"
VERSION = 1
ARRAYS = ("tokens", "sentences", "documents", "heldout")


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 halves the size of every shard whenever the ids fit."""
    return np.dtype(np.uint16) if vocab_size <= np.iinfo(np.uint16).max + 1 else np.dtype(np.int32)


@dataclass
class ShardInfo:
    name: str
    first_document: int  # global index of the shard's first document, for the held-out rule
    documents: int
    sentences: int
    tokens: int
    heldout_documents: int
    input_bytes: int  # UTF-8 bytes of text the shard came from


@dataclass
class Manifest:
    """What a data directory holds and how it was made; `complete` is False while `prepare` is running."""

    tokenizer_fingerprint: str
    vocab_size: int
    dtype: str
    inputs: list[dict]  # {"path": ..., "bytes": ...} per input file, in reading order
    shard_bytes: int
    heldout_fraction: float
    heldout_rule: str
    shards: list[ShardInfo] = field(default_factory=list)
    complete: bool = False
    format: str = FORMAT
    version: int = VERSION

    def total(self, what: str) -> int:
        """Sum of a ShardInfo count over all shards, e.g. total("tokens")."""
        return sum(getattr(s, what) for s in self.shards)

    def summary(self) -> str:
        return (
            f"{self.total('documents')} documents ({self.total('heldout_documents')} held out), "
            f"{self.total('sentences')} sentences, {self.total('tokens')} tokens in {len(self.shards)} shards"
        )

    def save(self, data_dir: Path) -> None:
        data = asdict(self)
        data["totals"] = {k: self.total(k) for k in ("documents", "sentences", "tokens", "heldout_documents")}
        write_text_atomically(data_dir / MANIFEST, json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, data_dir: str | Path) -> "Manifest":
        path = Path(data_dir) / MANIFEST
        if not path.is_file():
            raise FileFormatError(
                f"{data_dir}: no {MANIFEST}; not a prepared data directory "
                "(create one with `bertkit prepare --input FILES --tokenizer DIR --out DATA_DIR`)"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
            if data.get("version") != VERSION:
                raise ValueError(f"version {data.get('version')} is not {VERSION}")
            data.pop("totals", None)
            data["shards"] = [ShardInfo(**s) for s in data["shards"]]
            return cls(**data)
        except (ValueError, TypeError, KeyError) as err:
            raise FileFormatError(f"{path}: not a valid bertkit data manifest ({err})") from None


@dataclass
class Shard:
    """One shard's arrays, memory-mapped."""

    tokens: np.ndarray
    sentences: np.ndarray
    documents: np.ndarray
    heldout: np.ndarray


def write_shard(data_dir: Path, name: str, shard: Shard) -> None:
    """Write the arrays under a temporary name, then rename: a shard directory is always complete."""
    with atomic_path(data_dir / name) as tmp:
        tmp.mkdir()
        for array in ARRAYS:
            np.save(tmp / f"{array}.npy", getattr(shard, array))


def read_shard(data_dir: Path, info: ShardInfo) -> Shard:
    try:
        arrays = {a: np.load(data_dir / info.name / f"{a}.npy", mmap_mode="r") for a in ARRAYS}
    except (OSError, ValueError) as err:
        raise FileFormatError(
            f"{data_dir / info.name}: cannot read shard ({err}); re-run `bertkit prepare`"
        ) from None
    if len(arrays["documents"]) != info.documents + 1 or len(arrays["tokens"]) != info.tokens:
        raise FileFormatError(
            f"{data_dir / info.name}: shard does not match {MANIFEST} (truncated?); re-run `bertkit prepare`"
        )
    return Shard(**arrays)
