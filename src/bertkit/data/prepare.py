"""`bertkit prepare`: tokenize a corpus once, in parallel, into memory-mapped shards.

The corpus is read as a stream and cut into shards of about `shard_bytes` of text each (whole documents);
worker processes tokenize and write one shard each while the reader moves on, with at most two shards per
worker in flight, so memory stays bounded whatever the corpus size. The cut points depend only on the
input, so a rerun after an interruption cuts the same shards, skips those the manifest lists as done, and
writes the rest.

The held-out split is a property of each document's position in the corpus (a hash of its index compared
with `heldout_fraction`), not of any random state: the same corpus always gives the same split.
"""

import multiprocessing
import os
import shutil
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from bertkit.checks import check_int, check_probability
from bertkit.data.corpus import iter_documents, resolve_inputs
from bertkit.data.shards import MANIFEST, Manifest, Shard, ShardInfo, token_dtype, write_shard
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.tokenizer import WordPieceTokenizer

DEFAULT_SHARD_BYTES = 1 << 20
HELDOUT_RULE = "splitmix64(document_index) / 2**64 < heldout_fraction"


@dataclass
class ShardTask:
    """One shard's worth of documents, and where its files go."""

    out_dir: Path
    name: str
    first_document: int
    documents: list[list[str]]
    input_bytes: int
    heldout_fraction: float
    dtype: str


def prepare_corpus(
    inputs: list[str | Path],
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    *,
    heldout_fraction: float = 0.01,
    workers: int | None = None,
    shard_bytes: int = DEFAULT_SHARD_BYTES,
    show_progress: bool = True,
) -> Manifest:
    """Tokenize `inputs` (files or directories, see bertkit.data.corpus) into shards under `out_dir`.

    `workers` processes tokenize (default: all cores; 0 or 1 tokenizes in this process). Rerunning with the
    same arguments resumes an interrupted run, or returns at once when the data is complete.
    """
    check_probability("`heldout_fraction`", heldout_fraction)
    check_int("`shard_bytes`", shard_bytes)
    workers = (os.cpu_count() or 1) if workers is None else workers
    check_int("`workers`", workers, minimum=0)
    files = resolve_inputs(inputs)
    tokenizer = WordPieceTokenizer.from_pretrained(tokenizer_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = Manifest(
        tokenizer_fingerprint=tokenizer.fingerprint(),
        vocab_size=len(tokenizer),
        dtype=token_dtype(len(tokenizer)).name,
        inputs=[{"path": str(f.resolve()), "bytes": f.stat().st_size} for f in files],
        shard_bytes=shard_bytes,
        heldout_fraction=heldout_fraction,
        heldout_rule=HELDOUT_RULE,
    )
    manifest = _resume_or_start(out_dir, wanted)
    if manifest.complete:
        return manifest
    done = {s.name for s in manifest.shards}
    progress = tqdm(
        total=sum(i["bytes"] for i in wanted.inputs),
        unit="B",
        unit_scale=True,
        desc="prepare",
        disable=not show_progress,
    )
    with progress, _Tokenizers(tokenizer, tokenizer_dir, workers) as pool:
        pending: deque = deque()
        for task in _shard_tasks(iter_documents(files), out_dir, wanted):
            if task.name in done:
                progress.update(task.input_bytes)
                continue
            pending.append(pool.submit(task))
            while len(pending) > 2 * max(workers, 1) or (pending and pending[0].ready()):
                _record(manifest, out_dir, pending.popleft().get(), progress)
        while pending:
            _record(manifest, out_dir, pending.popleft().get(), progress)
    if manifest.total("documents") == 0:
        for info in manifest.shards:  # shards of empty documents; nothing worth resuming
            shutil.rmtree(out_dir / info.name)
        (out_dir / MANIFEST).unlink()
        raise FileFormatError(f"{', '.join(map(str, inputs))}: the corpus holds no text (empty input)")
    manifest.shards.sort(key=lambda s: s.name)
    manifest.complete = True
    manifest.save(out_dir)
    return manifest


def _resume_or_start(out_dir: Path, wanted: Manifest) -> Manifest:
    """The manifest to continue: the existing one when it was made with the same settings, else a new one."""
    for stale in out_dir.glob("shard-*.tmp"):  # a shard a killed run was writing
        shutil.rmtree(stale)
    try:
        existing = Manifest.load(out_dir)
    except FileFormatError:
        if any(out_dir.glob("shard-*")):
            raise FileFormatError(
                f"{out_dir}: holds shards but no valid manifest; delete the directory or choose another `out_dir`"
            ) from None
        wanted.save(out_dir)
        return wanted
    settings = ("tokenizer_fingerprint", "inputs", "shard_bytes", "heldout_fraction", "dtype")
    changed = [k for k in settings if getattr(existing, k) != getattr(wanted, k)]
    if changed:
        raise InvalidArgumentError(
            f"{out_dir}: already holds data prepared with a different {', '.join(changed)}; "
            "delete it or choose another `out_dir`"
        )
    return existing


def _shard_tasks(
    documents: Iterator[tuple[list[str], int]], out_dir: Path, wanted: Manifest
) -> Iterator[ShardTask]:
    """Group the document stream into shards of at least `shard_bytes` of text (the last may be smaller)."""
    batch: list[list[str]] = []
    size = first = index = 0
    for number, (sentences, nbytes) in enumerate(documents):
        if not batch:
            first = number
        batch.append(sentences)
        size += nbytes
        if size >= wanted.shard_bytes:
            yield ShardTask(
                out_dir, f"shard-{index:05d}", first, batch, size, wanted.heldout_fraction, wanted.dtype
            )
            batch, size, index = [], 0, index + 1
    if batch:
        yield ShardTask(
            out_dir, f"shard-{index:05d}", first, batch, size, wanted.heldout_fraction, wanted.dtype
        )


def _record(manifest: Manifest, out_dir: Path, info: ShardInfo, progress: tqdm) -> None:
    manifest.shards.append(info)
    manifest.save(out_dir)
    progress.update(info.input_bytes)


def is_heldout(document_index: np.ndarray, fraction: float) -> np.ndarray:
    """The held-out rule: splitmix64 of the document's index, read as a number in [0, 1), below `fraction`."""
    z = document_index.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53) < fraction


def tokenize_shard(task: ShardTask, tokenizer: WordPieceTokenizer) -> ShardInfo:
    """Tokenize one shard's documents and write its arrays; sentences that tokenize to nothing are dropped,
    and so are documents left with no sentences."""
    # One process per shard already: the tokenizer must not fork workers of its own.
    ids = tokenizer.tokenize_to_ids([s for doc in task.documents for s in doc], num_workers=1)
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    doc_sizes = np.fromiter(map(len, task.documents), dtype=np.int64, count=len(task.documents))
    sentence_doc = np.repeat(np.arange(len(task.documents)), doc_sizes)
    kept = lengths > 0
    kept_per_doc = np.bincount(sentence_doc[kept], minlength=len(task.documents))
    has_text = kept_per_doc > 0
    heldout = is_heldout(task.first_document + np.arange(len(task.documents)), task.heldout_fraction)
    tokens = np.fromiter(chain.from_iterable(ids), dtype=task.dtype, count=int(lengths.sum()))
    shard = Shard(
        tokens=tokens,
        sentences=np.concatenate(([0], np.cumsum(lengths[kept]))),
        documents=np.concatenate(([0], np.cumsum(kept_per_doc[has_text]))),
        heldout=heldout[has_text],
    )
    write_shard(task.out_dir, task.name, shard)
    return ShardInfo(
        name=task.name,
        first_document=task.first_document,
        documents=int(has_text.sum()),
        sentences=int(kept.sum()),
        tokens=len(tokens),
        heldout_documents=int(shard.heldout.sum()),
        input_bytes=task.input_bytes,
    )


_worker_tokenizer: WordPieceTokenizer | None = None


def _init_worker(tokenizer_dir: str) -> None:
    global _worker_tokenizer
    _worker_tokenizer = WordPieceTokenizer.from_pretrained(tokenizer_dir)


def _tokenize_in_worker(task: ShardTask) -> ShardInfo:
    return tokenize_shard(task, _worker_tokenizer)


class _Done:
    """A finished result with the interface of multiprocessing's AsyncResult."""

    def __init__(self, value: ShardInfo) -> None:
        self.value = value

    def ready(self) -> bool:
        return True

    def get(self) -> ShardInfo:
        return self.value


class _Tokenizers:
    """Where shards are tokenized: a process pool, or this process when `workers` <= 1."""

    def __init__(self, tokenizer: WordPieceTokenizer, tokenizer_dir: str | Path, workers: int) -> None:
        self.tokenizer = tokenizer
        self.pool = None
        if workers > 1:
            self.pool = multiprocessing.get_context().Pool(workers, _init_worker, (str(tokenizer_dir),))

    def submit(self, task: ShardTask):
        if self.pool is None:
            return _Done(tokenize_shard(task, self.tokenizer))
        return self.pool.apply_async(_tokenize_in_worker, (task,))

    def __enter__(self) -> "_Tokenizers":
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is None:
            return
        if exc[0] is None:
            self.pool.close()
        else:
            self.pool.terminate()
        self.pool.join()
