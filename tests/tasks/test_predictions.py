"""Model outputs to prediction records (tasks/predictions.py) and the length-bucketed runner (tasks/inference.py)."""

import numpy as np
import pytest
import torch

from bertkit import BertConfig, WordPieceTokenizer
from bertkit.model import BertForQuestionAnswering, BertForSequenceClassification
from bertkit.model.batching import length_batches
from bertkit.tasks import Answer, Features, QAExample, TagExample, TaskData, TextExample, encode
from bertkit.tasks.inference import run_model
from bertkit.tasks.predictions import predictions, score

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "far", "away", "who", "where", "?", "."]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]


def config(**overrides) -> BertConfig:
    settings = dict(
        vocab_size=len(VOCAB),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    return BertConfig(**settings | overrides)


def test_length_batches_are_longest_first_and_keep_ties_in_order():
    assert length_batches([3, 9, 3, 5, 9], 2) == [[1, 4], [3, 0], [2]]


def test_bucketed_outputs_equal_one_feature_at_a_time():
    torch.manual_seed(0)
    model = BertForSequenceClassification(config(num_labels=3)).eval()
    tokenizer = WordPieceTokenizer(VOCAB)
    texts = ["the cat sat on the mat", "a dog", "the dog ran far far away .", "cat", "the mat"]
    data = TaskData("classify", None, "csv", [TextExample(t) for t in texts], labelled=False)
    features = encode(data, tokenizer, max_length=16)
    bucketed = run_model(model, features, tokenizer.pad_token_id, batch_size=2)
    one_by_one = run_model(model, features, tokenizer.pad_token_id, batch_size=1)
    for a, b in zip(bucketed, one_by_one, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert [len(o) for o in bucketed] == [3] * 5
    share = run_model(model, features, tokenizer.pad_token_id, rows=[4, 1])  # a process's share, in its order
    np.testing.assert_allclose(np.stack(share), np.stack([one_by_one[4], one_by_one[1]]), atol=1e-6)


def test_classify_and_choice_records_are_softmax_scores():
    data = TaskData("classify", None, "csv", [TextExample("x", label="b"), TextExample("y", label="a")])
    cfg = config(id2label={0: "a", 1: "b"})
    predicted = predictions(
        data, Features("classify", [{}, {}], [0, 1]), [np.log([0.2, 0.8]), np.log([0.9, 0.1])], cfg
    )
    assert predicted.records == [
        {"label": "b", "score": pytest.approx(0.8)},
        {"label": "a", "score": pytest.approx(0.9)},
    ]
    assert score(data, predicted)["accuracy"] == 1.0


def test_tag_records_give_one_tag_per_word_and_o_for_words_truncated_away():
    cfg = config(id2label={0: "B-PER", 1: "O"})
    data = TaskData("tag", None, "conll", [TagExample(["john", "ran", "away"], ["B-PER", "O", "O"])])
    # [CLS] jo ##hn ran [SEP]: "away" was cut off by max_length
    features = Features("tag", [{}], [0], word_ids=[[None, 0, 0, 1, None]])
    scores = np.array([[0, 1], [5, 0], [0, 5], [0, 5], [0, 1]], dtype=np.float32)
    predicted = predictions(data, features, [scores], cfg)
    assert predicted.records == [{"tokens": ["john", "ran", "away"], "tags": ["B-PER", "O", "O"]}]
    assert score(data, predicted)["f1"] == 1.0


def qa_data(v2: bool) -> TaskData:
    context = "the cat sat on the mat"
    examples = [
        QAExample("q1", "where ?", context, [Answer("the mat", 15)]),
        QAExample("q2", "who ?", context, [], is_impossible=True),
    ]
    return TaskData("qa", None, "json", examples, squad_v2=v2)


def qa_features() -> Features:
    """Two windows of q1 ([CLS] where ? [SEP] context tokens [SEP]) and one of q2."""
    window1 = [None, None, None, None, (0, 3), (4, 7), (8, 11), None]  # the cat sat
    window2 = [None, None, None, None, (8, 11), (12, 14), (15, 18), (19, 22), None]  # sat on the mat
    window3 = [None, None, None, None, (0, 3), (4, 7), (8, 11), (12, 14), (15, 18), (19, 22), None]
    return Features("qa", [{}, {}, {}], [0, 0, 1], offsets=[window1, window2, window3])


def logits(length: int, start: dict[int, float], end: dict[int, float]) -> np.ndarray:
    out = np.zeros((2, length), dtype=np.float32)
    for i, v in start.items():
        out[0, i] = v
    for i, v in end.items():
        out[1, i] = v
    return out


@pytest.mark.parametrize("v2", [False, True])
def test_qa_takes_the_best_span_over_windows_and_no_answer_in_squad_v2(v2):
    outputs = [
        logits(8, {0: 1, 4: 2}, {0: 1, 5: 2}),  # "the cat": logit 4
        logits(9, {0: 1, 6: 3}, {0: 1, 7: 3}),  # "the mat": logit 6, the best
        logits(11, {0: 9, 4: 1}, {0: 9, 4: 1}),  # no answer wins by far (null logit 18 > 2)
    ]
    predicted = predictions(qa_data(v2), qa_features(), outputs, config())
    first, second = predicted.records
    assert first["id"] == "q1" and first["answer"] == "the mat" and first["start"] == 15
    assert 0 < first["score"] < 1
    if v2:
        assert second == {"id": "q2", "answer": "", "start": None, "score": pytest.approx(second["score"])}
        assert predicted.no_answer == [
            pytest.approx(2 - 6),
            pytest.approx(18 - 2),
        ]  # null - best, per question
        metrics = score(qa_data(v2), predicted)
        assert (
            metrics["exact"] == 100.0
            and metrics["has_answer_f1"] == 100.0
            and metrics["no_answer_f1"] == 100.0
        )
    else:
        assert second["answer"] == "the" and predicted.no_answer is None  # v1.1 always answers


def test_qa_model_outputs_are_trimmed_to_each_window():
    torch.manual_seed(0)
    model = BertForQuestionAnswering(config(num_labels=2)).eval()
    tokenizer = WordPieceTokenizer(VOCAB)
    examples = [QAExample("q", "where ?", "the cat sat on the mat . " * 3), QAExample("r", "who ?", "a dog")]
    features = encode(
        TaskData("qa", None, "json", examples, labelled=False), tokenizer, max_length=16, doc_stride=4
    )
    outputs = run_model(model, features, tokenizer.pad_token_id)
    assert [o.shape for o in outputs] == [(2, len(f["input_ids"])) for f in features.inputs]
    records = predictions(TaskData("qa", None, "json", examples), features, outputs, model.config).records
    assert [r["id"] for r in records] == ["q", "r"] and len(features) > 2  # the long context took windows
