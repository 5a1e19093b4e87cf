"""Length bucketing and batch tensors: every input once, batches capped, little padding, no mask when none; a
loaded model given to pipeline() in place of its directory."""

from itertools import pairwise

import numpy as np
import pytest
import torch

from bertkit import (
    BertConfig,
    BertForMaskedLM,
    BertForPreTraining,
    BertForSequenceClassification,
    BertModel,
    WordPieceTokenizer,
    pipeline,
)
from bertkit.errors import InvalidArgumentError
from bertkit.model.batching import length_batches
from bertkit.pipelines.base import BATCH_COST, MAX_BATCH_TOKENS, tensor_batch
from bertkit.tokenizer.encoding import Encoding


def test_length_batches_cover_every_row_once_longest_first_within_the_caps():
    lengths = [5, 300, 7, 300, 290, 12, 5, 120, 9, 8] * 7
    batches = length_batches(lengths, batch_size=8, batch_cost=BATCH_COST, max_tokens=MAX_BATCH_TOKENS)
    rows = [i for b in batches for i in b]
    assert sorted(rows) == list(range(len(lengths)))
    assert [lengths[i] for i in rows] == sorted(lengths, reverse=True)
    assert all(len(b) <= 8 and (len(b) == 1 or len(b) * lengths[b[0]] <= MAX_BATCH_TOKENS) for b in batches)


def cost(lengths: list[int], batches: list[list[int]], per_batch: int) -> int:
    return sum(len(b) * lengths[b[0]] + per_batch for b in batches)


def test_length_batches_split_where_padding_costs_more_than_a_batch():
    lengths = [10] * 4 + [100] * 4
    # One batch of 8 would pad the four short rows by 360 tokens; a second batch costs 24.
    assert length_batches(lengths, batch_size=8, batch_cost=24) == [[4, 5, 6, 7], [0, 1, 2, 3]]
    # Rows 2 tokens apart are worth batching together rather than paying for a batch each.
    assert length_batches([10, 12, 11, 12], batch_size=8, batch_cost=24) == [[1, 3, 2, 0]]
    # No split of the sorted rows costs less than the one chosen (every split, checked by brute force).
    lengths = [9, 3, 17, 3, 8, 30, 12, 4]
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    chosen = length_batches(lengths, batch_size=3, batch_cost=5)
    for mask in range(1 << (len(order) - 1)):
        cuts = [0] + [i + 1 for i in range(len(order) - 1) if mask >> i & 1] + [len(order)]
        split = [order[a:b] for a, b in pairwise(cuts)]
        if all(len(b) <= 3 for b in split):
            assert cost(lengths, chosen, 5) <= cost(lengths, split, 5)


def test_length_batches_without_a_cost_are_runs_of_batch_size():
    assert length_batches([3, 9, 3, 5, 9], 2) == [[1, 4], [3, 0], [2]]
    with pytest.raises(InvalidArgumentError, match="`batch_size`"):
        length_batches([3], 0)


def encoding(ids: list[int]) -> Encoding:
    return Encoding(ids, [0] * len(ids), [0] * len(ids), lambda: [], [])


def test_tensor_batch_pads_right_and_drops_a_needless_mask():
    batch = tensor_batch([encoding([2, 7, 3]), encoding([2, 3])], pad_id=0, device=torch.device("cpu"))
    assert batch["input_ids"].tolist() == [[2, 7, 3], [2, 3, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    full = tensor_batch([encoding([2, 7, 3]), encoding([2, 8, 3])], pad_id=0, device=torch.device("cpu"))
    assert full["attention_mask"] is None and full["token_type_ids"].shape == (2, 3)


# A loaded model given to pipeline() instead of a directory: the same answers, one copy shared, clear errors.

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "moon", "is", "bright", "light", "frost", "##s"]
TEXTS = ["the moon is [MASK]", "[MASK] light", "the frosts [MASK] bright the moon"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Class name -> (directory, the model loaded from it, its tokenizer), tiny random models of each class."""
    tokenizer = WordPieceTokenizer(VOCAB)
    made = {}
    for seed, cls in enumerate(
        (BertForMaskedLM, BertForPreTraining, BertForSequenceClassification, BertModel)
    ):
        torch.manual_seed(seed)
        config = BertConfig.preset(
            "tiny", vocab_size=len(VOCAB), id2label={0: "dark", 1: "bright", 2: "both"}
        )
        directory = tmp_path_factory.mktemp(cls.__name__)
        cls(config).save_pretrained(directory, tokenizer=tokenizer)
        made[cls.__name__] = (directory, cls.from_pretrained(directory), tokenizer)
    return made


@pytest.mark.parametrize(
    "task, class_name, options",
    [
        ("fill-mask", "BertForMaskedLM", {"top_k": 3}),
        ("fill-mask", "BertForPreTraining", {}),
        ("next-sentence", "BertForPreTraining", {}),
        ("text-classification", "BertForSequenceClassification", {"top_k": None}),
        ("sentence-embedding", "BertForMaskedLM", {}),  # a model with a head embeds with its encoder
        ("feature-extraction", "BertModel", {}),
    ],
)
def test_a_loaded_model_answers_what_its_directory_answers(tiny, task, class_name, options):
    directory, model, tokenizer = tiny[class_name]
    inputs = [("the moon", "is bright")] * 2 if task == "next-sentence" else TEXTS
    from_directory = pipeline(task, model=directory, **options)(inputs)
    loaded = pipeline(task, model=model, tokenizer=tokenizer, **options)
    assert "a loaded" in repr(loaded)
    if task in ("sentence-embedding", "feature-extraction"):
        for ours, theirs in zip(loaded(inputs), from_directory, strict=True):
            np.testing.assert_allclose(ours, theirs, atol=1e-6)
    else:
        assert loaded(inputs) == from_directory


def test_pipelines_of_one_loaded_model_share_it(tiny):
    directory, model, tokenizer = tiny["BertForSequenceClassification"]
    embedder = pipeline("sentence-embedding", model=model, tokenizer=tokenizer)
    classifier = pipeline("text-classification", model=model, tokenizer=tokenizer, top_k=None)
    assert embedder.model is model.bert and classifier.model is model
    embedder(TEXTS)  # embedding leaves the shared model whole: the classifier still reads the pooler
    assert classifier(TEXTS) == pipeline("text-classification", model=directory, top_k=None)(TEXTS)


def test_a_loaded_model_without_the_head_or_without_a_tokenizer_is_refused(tiny):
    _, encoder, tokenizer = tiny["BertModel"]
    with pytest.raises(
        InvalidArgumentError,
        match=r"^`model` is a BertModel, which has no head for 'fill-mask'; that task needs one of: "
        "BertForMaskedLM, BertForPreTraining$",
    ):
        pipeline("fill-mask", model=encoder, tokenizer=tokenizer)
    with pytest.raises(InvalidArgumentError, match="no head for 'text-classification'.*BertForSequenceClass"):
        pipeline("sentiment-analysis", model=tiny["BertForPreTraining"][1], tokenizer=tokenizer)
    with pytest.raises(InvalidArgumentError, match="`tokenizer` is needed with a loaded BertModel"):
        pipeline("feature-extraction", model=encoder)
    with pytest.raises(
        InvalidArgumentError, match="`model` must be a model directory or a loaded bertkit model"
    ):
        pipeline("feature-extraction", model=42)
    with pytest.raises(InvalidArgumentError, match="`tokenizer` must be a WordPieceTokenizer or a directory"):
        pipeline("feature-extraction", model=encoder, tokenizer=VOCAB)
