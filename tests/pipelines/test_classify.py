"""text-classification and multiple-choice against transformers on the same checkpoint."""

import pytest
import torch

from bertkit import InvalidArgumentError, pipeline
from bertkit.pipelines.base import tensor_batch

from .conftest import SENTIMENT, transformers

TEXTS = [
    "I loved this film, the actors were wonderful.",
    "Terrible.",
    "The service was slow, but the food made up for it and we will come back next summer with friends.",
]
PAIRS = [
    ("A man is eating.", "Someone eats food."),
    ("It rains.", "The sun is shining brightly over the hills."),
]


def close(ours, theirs):
    assert [r["label"] for r in ours] == [r["label"] for r in theirs]
    assert all(abs(a["score"] - b["score"]) <= 1e-4 for a, b in zip(ours, theirs, strict=True))


@pytest.fixture(scope="module")
def classifiers(checkpoints):
    directory = checkpoints("text-classification")
    return pipeline("text-classification", model=directory, batch_size=2), transformers.pipeline(
        "text-classification", model=str(directory), device="cpu"
    )


def test_cls_only_gives_the_full_models_logits_on_real_weights(classifiers):
    ours = classifiers[0]  # the pipeline runs its model with cls_only=True
    pad = ours.tokenizer.pad_token_id
    for group in (TEXTS, TEXTS[:1], PAIRS, [TEXTS[1], PAIRS[0]]):  # padded or not, segment ids 0 and 1
        batch = tensor_batch(ours.encode(group), pad, ours.device)
        with torch.inference_mode():
            expected = ours.model(**batch).logits
            assert torch.allclose(ours.model(**batch, cls_only=True).logits, expected, atol=1e-5)
    assert tensor_batch(ours.encode(TEXTS[:1]), pad, ours.device)["attention_mask"] is None


def test_best_label_equals_transformers(classifiers):
    ours, theirs = classifiers
    close(ours(TEXTS), theirs(TEXTS))
    assert ours(TEXTS[1])["label"] in SENTIMENT and isinstance(ours(TEXTS[1]), dict)
    pairs = [{"text": a, "text_pair": b} for a, b in PAIRS]
    close(ours(PAIRS), theirs(pairs))
    close(ours(pairs), theirs(pairs))


@pytest.mark.parametrize("top_k", [None, 2])
@pytest.mark.parametrize("function", ["default", "sigmoid", "none"])
def test_top_k_and_functions_equal_transformers(classifiers, top_k, function):
    ours, theirs = classifiers
    options = {} if function == "default" else {"function_to_apply": function}  # theirs: no name for it
    for mine, ref in zip(
        ours(TEXTS, top_k=top_k, function_to_apply=function),
        theirs(TEXTS, top_k=top_k, **options),
        strict=True,
    ):
        assert len(mine) == (3 if top_k is None else 2)
        close(mine, ref)


def test_classification_errors(classifiers, checkpoints):
    ours, _ = classifiers
    with pytest.raises(InvalidArgumentError, match="`function_to_apply` must be one of"):
        ours("text", function_to_apply="relu")
    with pytest.raises(InvalidArgumentError, match="text 1 is empty"):
        ours(["fine", "  "])
    with pytest.raises(InvalidArgumentError, match="input 0 must be a pair of texts"):
        ours([("one", "two", "three")])
    with pytest.raises(Exception, match="holds a BertModel .* no head for 'text-classification'"):
        from .conftest import MINILM

        pipeline("text-classification", model=MINILM)


QUESTIONS = [
    ("The chef tasted the soup and", ["added more salt.", "flew to the moon.", "sang an opera in Latin."]),
    ("She opened the umbrella because", ["it was raining.", "the cat was hungry."]),
]


@torch.no_grad()
def test_multiple_choice_equals_transformers(checkpoints):
    directory = checkpoints("multiple-choice")
    ours = pipeline("multiple-choice", model=directory)
    reference = transformers.BertForMultipleChoice.from_pretrained(directory).eval()
    tok = transformers.AutoTokenizer.from_pretrained(directory)
    results = ours(QUESTIONS)
    for (text, choices), result in zip(QUESTIONS, results, strict=True):
        batch = tok([text] * len(choices), choices, padding=True, return_tensors="pt")
        expected = reference(**{k: v[None] for k, v in batch.items()}).logits.softmax(-1)[0]
        assert result["choice"] == int(expected.argmax())
        assert result["scores"] == pytest.approx(expected.tolist(), abs=1e-5)
    assert ours({"text": QUESTIONS[1][0], "choices": QUESTIONS[1][1]})["choice"] == results[1]["choice"]
    with pytest.raises(InvalidArgumentError, match="input 0 has 1 choices; give at least two"):
        ours(("text", ["only one"]))
