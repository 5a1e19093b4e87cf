"""A tiny pre-training corpus (the bundled Tang poems, a vocabulary learned from them) shared by the trainer tests."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from bertkit.data.prepare import is_heldout, prepare_corpus
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.train.config import PretrainConfig

CORPUS = Path(__file__).resolve().parents[2] / "data" / "tang300.txt"
# One thread: runs compared bit for bit must reduce in the same order, and two OpenMP threads on a shared
# 2-core machine spin-wait each other into a ~50x slow-down.
THREADS_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tang")
    WordPieceTokenizer.train([CORPUS], vocab_size=2000).save_pretrained(root / "tokenizer")
    prepare_corpus(
        [CORPUS], root / "tokenizer", root / "data", heldout_fraction=0.05, workers=1, show_progress=False
    )
    return {"data": root / "data", "tokenizer": root / "tokenizer"}


@pytest.fixture(scope="session")
def heldout_corpus(corpus, tmp_path_factory):
    """heldout_corpus(documents): prepared data whose held-out split is exactly `documents` (each a list of
    sentences) and whose training split is Tang poems, with the `corpus` tokenizer. The held-out rule picks
    document indices, so the given documents go at the indices it holds out and poems fill the others."""
    poems = CORPUS.read_text(encoding="utf-8").strip().split("\n\n")
    fraction = 0.25

    def build(documents: list[list[str]]) -> Path:
        root = tmp_path_factory.mktemp("heldout")
        texts, todo = [], list(documents)
        for held in is_heldout(np.arange(len(poems)), fraction):
            if held and not todo:
                break
            texts.append("\n".join(todo.pop(0)) if held else poems[len(texts)])
        (root / "corpus.txt").write_text("\n\n".join(texts) + "\n", encoding="utf-8")
        settings = dict(heldout_fraction=fraction, workers=1, show_progress=False)
        prepare_corpus([root / "corpus.txt"], corpus["tokenizer"], root / "data", **settings)
        return root / "data"

    return build


@pytest.fixture
def small_run(corpus):
    """small_run(out, **overrides): a PretrainConfig for a few seconds of the tiny preset on short sequences."""
    return lambda out, **overrides: _small_run(corpus, out, **overrides)


def _small_run(corpus: dict[str, Path], out: Path, **overrides) -> PretrainConfig:
    fields = dict(
        data=str(corpus["data"]),
        tokenizer=str(corpus["tokenizer"]),
        out=str(out),
        preset="tiny",
        seq_len=32,
        batch_size=4,
        lr=1e-3,
        warmup_steps=2,
        max_steps=8,
        log_every=1,
        eval_every=4,
        eval_batches=2,
        save_every=4,
        keep=2,
        num_workers=0,
        seed=7,
    )
    return PretrainConfig(**(fields | overrides))


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    return os.environ | THREADS_ENV


@pytest.fixture
def as_flags():
    """as_flags(cfg): `bertkit pretrain` command-line flags for a PretrainConfig."""
    return _as_flags


def _as_flags(cfg: PretrainConfig) -> list[str]:
    flags = []
    for name, value in cfg.to_dict().items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + flag[2:])
        elif value is not None:
            flags += [flag, str(value)]
    return flags
