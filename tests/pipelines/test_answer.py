"""question-answering against the removed transformers pipeline, rebuilt here from its algorithm: transformers'
tokenizer (overflowing windows with a stride), transformers' model, its span search `select_starts_ends`
(kept in its document-QA pipeline) and its word alignment."""

import numpy as np
import pytest
import torch

from bertkit import InvalidArgumentError, pipeline

from .conftest import transformers

dqa = pytest.importorskip("transformers.pipelines.document_question_answering")

CONTEXT = (
    "The Amazon rainforest covers much of the Amazon basin of South America. The basin encompasses seven "
    "million square kilometres, of which 5.5 million are covered by the rainforest. The region includes "
    "territory belonging to nine nations; the majority of the forest, 60%, is contained within Brazil, followed "
    "by Peru with 13%, Colombia with 10%, and with minor amounts in Venezuela, Ecuador, Bolivia, Guyana, "
    "Suriname and French Guiana. Unbelievably, states or departments in four nations carry its name."
)
QUESTIONS = ["Which country holds most of the forest?", "How large is the basin?", "What is it called?"]


@torch.no_grad()
def reference(directory, question, context, top_k=1, impossible=False, max_seq_len=384, stride=128):
    tok = transformers.AutoTokenizer.from_pretrained(directory)
    model = transformers.BertForQuestionAnswering.from_pretrained(directory).eval()
    enc = tok(
        question, context, truncation="only_second", max_length=max_seq_len, stride=stride,
        return_overflowing_tokens=True, return_offsets_mapping=True, return_token_type_ids=True,
    )  # fmt: skip
    answers, null = [], 1e6
    for i, window in enumerate(enc.encodings):
        ids = torch.tensor([window.ids])
        out = model(input_ids=ids, token_type_ids=torch.tensor([window.type_ids]))
        p_mask = np.array([[s != 1 for s in enc.sequence_ids(i)]], dtype=np.int64)
        p_mask[0, 0] = 0  # [CLS] stays
        starts, ends, scores, null = dqa.select_starts_ends(
            out.start_logits.numpy(), out.end_logits.numpy(), p_mask, np.ones_like(p_mask), null, top_k,
            impossible, 15,
        )  # fmt: skip
        for s, e, score in zip(starts, ends, scores, strict=True):
            a = window.word_to_chars(window.token_to_word(s), sequence_index=1)[0]
            b = window.word_to_chars(window.token_to_word(e), sequence_index=1)[1]
            answers.append({"score": float(score), "start": a, "end": b, "answer": context[a:b]})
    if impossible:
        answers.append({"score": null, "start": 0, "end": 0, "answer": ""})
    return sorted(answers, key=lambda x: x["score"], reverse=True)[:top_k], len(enc.encodings)


def same(ours, theirs):
    assert [(a["answer"], a["start"], a["end"]) for a in ours] == [
        (a["answer"], a["start"], a["end"]) for a in theirs
    ]
    assert all(abs(a["score"] - b["score"]) <= 1e-4 for a, b in zip(ours, theirs, strict=True))


@pytest.fixture(scope="module")
def reader(checkpoints):
    directory = checkpoints("question-answering")
    return pipeline("question-answering", model=directory), directory


def test_answers_equal_transformers(reader):
    ours, directory = reader
    results = ours(question=QUESTIONS, context=[CONTEXT] * len(QUESTIONS), top_k=3)
    for question, result in zip(QUESTIONS, results, strict=True):
        expected, windows = reference(directory, question, CONTEXT, top_k=3)
        assert windows == 1
        same(result, expected)
    best = ours(question=QUESTIONS[0], context=CONTEXT)
    assert isinstance(best, dict) and best["answer"] == results[0][0]["answer"]
    assert CONTEXT[best["start"] : best["end"]] == best["answer"]


@pytest.mark.parametrize("impossible", [False, True])
def test_long_context_windows_equal_transformers(reader, impossible):
    ours, directory = reader
    options = {"max_seq_len": 48, "doc_stride": 12, "top_k": 4, "handle_impossible_answer": impossible}
    for question in QUESTIONS[:2]:
        expected, windows = reference(directory, question, CONTEXT, 4, impossible, 48, 12)
        assert windows > 3
        same(ours({"question": question, "context": CONTEXT}, **options), expected)


def test_question_answering_errors(reader):
    ours, _ = reader
    with pytest.raises(InvalidArgumentError, match="the context of question 0 is empty"):
        ours(question="Who?", context="   ")
    with pytest.raises(InvalidArgumentError, match="question 0 is empty"):
        ours(question="", context=CONTEXT)
    with pytest.raises(InvalidArgumentError, match="needs `question` and `context`"):
        ours(question="Who?")
    with pytest.raises(InvalidArgumentError, match="`question` has 2 texts but `context` has 1"):
        ours(question=["a", "b"], context=[CONTEXT])
    with pytest.raises(
        InvalidArgumentError, match="question 0: `doc_stride`=12 must be smaller than the 5 context tokens"
    ):
        ours(question="Who " * 40, context=CONTEXT, max_seq_len=48, doc_stride=12)
