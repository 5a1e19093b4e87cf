"""fill-mask and next-sentence against transformers on the same checkpoint (MiniLM under a random head)."""

import pytest
import torch

from bertkit import CheckpointError, InvalidArgumentError, pipeline

from .conftest import transformers

TEXTS = [
    "The capital of France is [MASK].",
    "I [MASK] to the [MASK] yesterday, and it was great.",
    "[MASK]",
    "Short [MASK] here, then a much longer sentence follows so that the batch has padding to handle.",
]


def assert_same_predictions(ours, theirs):
    assert [p["token"] for p in ours] == [p["token"] for p in theirs]
    assert [p["token_str"] for p in ours] == [p["token_str"] for p in theirs]
    assert [p["sequence"] for p in ours] == [p["sequence"] for p in theirs]
    assert ours[0]["score"] == pytest.approx(theirs[0]["score"], abs=1e-4)
    assert all(abs(a["score"] - b["score"]) <= 1e-4 for a, b in zip(ours, theirs, strict=True))


def test_fill_mask_equals_transformers(checkpoints):
    directory = checkpoints("fill-mask")
    ours = pipeline("fill-mask", model=directory, batch_size=3)
    theirs = transformers.pipeline("fill-mask", model=str(directory), device="cpu")
    results = ours(TEXTS, top_k=4)
    assert len(results) == len(TEXTS)
    for text, result in zip(TEXTS, results, strict=True):
        reference = theirs(text, top_k=4)
        if text.count("[MASK]") == 1:
            assert_same_predictions(result, reference)
        else:
            assert len(result) == len(reference) == text.count("[MASK]")
            for mine, ref in zip(result, reference, strict=True):
                assert_same_predictions(mine, ref)
    assert_same_predictions(ours(TEXTS[0], top_k=4), results[0])  # one text: its result, as in a batch
    assert len(ours(TEXTS[0])) == 5  # the default top_k, as transformers'


def test_fill_mask_errors(checkpoints):
    ours = pipeline("fill-mask", model=checkpoints("fill-mask"))
    with pytest.raises(InvalidArgumentError, match=r"text 1 has no \[MASK\] token to fill"):
        ours(["A [MASK] here.", "No mask in this one."])
    with pytest.raises(InvalidArgumentError, match="`top_k` must be a positive integer"):
        ours("A [MASK].", top_k=0)
    with pytest.raises(InvalidArgumentError, match="the list of inputs is empty"):
        ours([])
    with pytest.raises(InvalidArgumentError, match="has no option 'topk'"):
        ours("A [MASK].", topk=3)
    with pytest.raises(
        CheckpointError, match="holds a BertForTokenClassification .* no head for 'fill-mask'"
    ):
        pipeline("fill-mask", model=checkpoints("token-classification"))


PAIRS = [
    ("The weather was cold.", "She put on a warm coat."),
    ("Stocks fell sharply today.", "Penguins live in the southern hemisphere, mostly in Antarctica."),
]


@torch.no_grad()
def test_next_sentence_equals_transformers(checkpoints):
    directory = checkpoints("next-sentence")
    ours = pipeline("next-sentence", model=directory)
    reference = transformers.BertForNextSentencePrediction.from_pretrained(directory).eval()
    tok = transformers.AutoTokenizer.from_pretrained(directory)
    for (first, second), p in zip(PAIRS, ours(PAIRS), strict=True):
        logits = reference(**tok(first, second, return_tensors="pt")).logits
        assert p == pytest.approx(logits.softmax(-1)[0, 0].item(), abs=1e-5)
    assert ours(PAIRS[0]) == pytest.approx(ours(PAIRS)[0], abs=1e-6)
    assert ours({"text": PAIRS[1][0], "text_pair": PAIRS[1][1]}) == pytest.approx(ours(PAIRS)[1], abs=1e-6)
    with pytest.raises(InvalidArgumentError, match="input 0 must be a pair of texts"):
        ours(["just one text"])
