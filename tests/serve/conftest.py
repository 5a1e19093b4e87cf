"""Tiny random models saved in tmp directories (an MLM, a classifier, a causal LM that knows one poem by heart),
and a real uvicorn server on a free loopback port for the tests that need one."""

import contextlib
import socket
import threading
import time

import pytest
import torch
import uvicorn  # the test extra installs the serve extra

from bertkit import (
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    WordPieceTokenizer,
)

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POEM = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
WORDS = ["the", "moon", "light", "frost", "##s", "cherry", "digital", "information"]


def vocabulary() -> list[str]:
    return SPECIALS + sorted(set(POEM)) + WORDS


@pytest.fixture(scope="session")
def mlm_dir(tmp_path_factory):
    """A tiny BertForMaskedLM (2 layers, 2 heads) whose MLM head always prefers 月."""
    tokenizer = WordPieceTokenizer(vocabulary(), lowercase=True)
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig.preset("tiny", vocab_size=len(tokenizer), max_position_embeddings=64))
    with torch.no_grad():
        model.cls.predictions.bias[tokenizer.vocab["月"]] = 50.0
    directory = tmp_path_factory.mktemp("mlm")
    model.save_pretrained(directory, tokenizer=tokenizer)
    return directory


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory):
    """A tiny sentiment classifier whose head always says `positive`."""
    tokenizer = WordPieceTokenizer(vocabulary(), lowercase=True)
    torch.manual_seed(1)
    config = BertConfig.preset("tiny", vocab_size=len(tokenizer), id2label={0: "negative", 1: "positive"})
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([-5.0, 5.0]))
    directory = tmp_path_factory.mktemp("classifier")
    model.save_pretrained(directory, tokenizer=tokenizer)
    return directory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(app):
    """`app` served by uvicorn on a free 127.0.0.1 port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def run_server():
    """The live_server context manager: `with run_server(app) as url: ...`."""
    return live_server
