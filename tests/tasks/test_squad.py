"""SQuAD scoring against the official evaluation scripts, re-typed here from evaluate-v1.1.py and
evaluate-v2.0.py (their logic, their dataset layout: articles -> paragraphs -> qas, predictions by id)."""

import collections
import re
import string

import numpy as np
import pytest

from bertkit.errors import InvalidArgumentError
from bertkit.tasks.metrics import compute_metrics
from bertkit.tasks.squad import find_best_threshold, normalize_answer, squad_metrics, token_f1

# ---- the official scripts' rules ---------------------------------------------------------------------


def official_normalize_answer(s):
    def remove_articles(text):
        return re.sub(re.compile(r"\b(a|an|the)\b", re.UNICODE), " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def v1_evaluate(dataset, predictions):
    def f1_score(prediction, ground_truth):
        prediction_tokens = official_normalize_answer(prediction).split()
        ground_truth_tokens = official_normalize_answer(ground_truth).split()
        common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
        num_same = sum(common.values())
        if num_same == 0:
            return 0
        precision = 1.0 * num_same / len(prediction_tokens)
        recall = 1.0 * num_same / len(ground_truth_tokens)
        return (2 * precision * recall) / (precision + recall)

    def exact_match_score(prediction, ground_truth):
        return official_normalize_answer(prediction) == official_normalize_answer(ground_truth)

    f1 = exact_match = total = 0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                ground_truths = [x["text"] for x in qa["answers"]]
                prediction = predictions[qa["id"]]
                exact_match += max(exact_match_score(prediction, gt) for gt in ground_truths)
                f1 += max(f1_score(prediction, gt) for gt in ground_truths)
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


def get_tokens(s):
    if not s:
        return []
    return official_normalize_answer(s).split()


def compute_exact(a_gold, a_pred):
    return int(official_normalize_answer(a_gold) == official_normalize_answer(a_pred))


def compute_f1(a_gold, a_pred):
    gold_toks = get_tokens(a_gold)
    pred_toks = get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def get_raw_scores(dataset, preds):
    exact_scores, f1_scores = {}, {}
    for article in dataset:
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                qid = qa["id"]
                gold_answers = [a["text"] for a in qa["answers"] if official_normalize_answer(a["text"])]
                if not gold_answers:
                    gold_answers = [""]
                a_pred = preds[qid]
                exact_scores[qid] = max(compute_exact(a, a_pred) for a in gold_answers)
                f1_scores[qid] = max(compute_f1(a, a_pred) for a in gold_answers)
    return exact_scores, f1_scores


def apply_no_ans_threshold(scores, na_probs, qid_to_has_ans, na_prob_thresh):
    new_scores = {}
    for qid, s in scores.items():
        pred_na = na_probs[qid] > na_prob_thresh
        new_scores[qid] = float(not qid_to_has_ans[qid]) if pred_na else s
    return new_scores


def make_eval_dict(exact_scores, f1_scores, qid_list=None):
    if not qid_list:
        total = len(exact_scores)
        return {
            "exact": 100.0 * sum(exact_scores.values()) / total,
            "f1": 100.0 * sum(f1_scores.values()) / total,
            "total": total,
        }
    total = len(qid_list)
    return {
        "exact": 100.0 * sum(exact_scores[k] for k in qid_list) / total,
        "f1": 100.0 * sum(f1_scores[k] for k in qid_list) / total,
        "total": total,
    }


def official_find_best_thresh(preds, scores, na_probs, qid_to_has_ans):
    num_no_ans = sum(1 for k in qid_to_has_ans if not qid_to_has_ans[k])
    cur_score = num_no_ans
    best_score = cur_score
    best_thresh = 0.0
    qid_list = sorted(na_probs, key=lambda k: na_probs[k])
    for qid in qid_list:
        if qid not in scores:
            continue
        if qid_to_has_ans[qid]:  # noqa: SIM108 (kept as the official script writes it)
            diff = scores[qid]
        else:
            diff = -1 if preds[qid] else 0
        cur_score += diff
        if cur_score > best_score:
            best_score = cur_score
            best_thresh = na_probs[qid]
    return 100.0 * best_score / len(scores), best_thresh


def v2_evaluate(dataset, preds, na_probs=None, na_prob_thresh=1.0):
    """evaluate-v2.0.py's main(): the eval dict with HasAns_/NoAns_ and best_* entries."""
    has_na_file = na_probs is not None
    if not has_na_file:
        na_probs = {k: 0.0 for k in preds}
    qid_to_has_ans = {
        qa["id"]: bool(qa["answers"]) for a in dataset for p in a["paragraphs"] for qa in p["qas"]
    }
    has_ans_qids = [k for k, v in qid_to_has_ans.items() if v]
    no_ans_qids = [k for k, v in qid_to_has_ans.items() if not v]
    exact_raw, f1_raw = get_raw_scores(dataset, preds)
    exact_thresh = apply_no_ans_threshold(exact_raw, na_probs, qid_to_has_ans, na_prob_thresh)
    f1_thresh = apply_no_ans_threshold(f1_raw, na_probs, qid_to_has_ans, na_prob_thresh)
    out_eval = make_eval_dict(exact_thresh, f1_thresh)
    if has_ans_qids:
        for k, v in make_eval_dict(exact_thresh, f1_thresh, qid_list=has_ans_qids).items():
            out_eval[f"HasAns_{k}"] = v
    if no_ans_qids:
        for k, v in make_eval_dict(exact_thresh, f1_thresh, qid_list=no_ans_qids).items():
            out_eval[f"NoAns_{k}"] = v
    if has_na_file:
        for name, raw in (("exact", exact_raw), ("f1", f1_raw)):
            out_eval[f"best_{name}"], out_eval[f"best_{name}_thresh"] = official_find_best_thresh(
                preds, raw, na_probs, qid_to_has_ans
            )
    return out_eval


# ---- helpers: our lists as the official dataset layout ----------------------------------------------

OURS_TO_OFFICIAL = {
    "exact": "exact",
    "f1": "f1",
    "examples": "total",
    "has_answer_exact": "HasAns_exact",
    "has_answer_f1": "HasAns_f1",
    "has_answer_examples": "HasAns_total",
    "no_answer_exact": "NoAns_exact",
    "no_answer_f1": "NoAns_f1",
    "no_answer_examples": "NoAns_total",
    "best_exact": "best_exact",
    "best_exact_thresh": "best_exact_thresh",
    "best_f1": "best_f1",
    "best_f1_thresh": "best_f1_thresh",
}


def as_dataset(references):
    qas = [
        {"id": f"q{i}", "question": "?", "answers": [{"text": t, "answer_start": 0} for t in golds]}
        for i, golds in enumerate(references)
    ]
    return [{"title": "t", "paragraphs": [{"context": "c", "qas": qas}]}]


def by_id(values):
    return {f"q{i}": v for i, v in enumerate(values)}


WORDS = [
    "The",
    "the",
    "a",
    "An",
    "cat",
    "Cat.",
    "sat",
    "on",
    "mat",
    "theater",
    "1,000",
    "(1856)",
    "café",
    "!",
]


def random_case(rng, n, unanswerable):
    """References and predictions with the official rules' hard parts: articles, punctuation, case, spacing,
    golds that normalise to nothing, repeated tokens, several golds per question, empty predictions."""

    def text():
        words = [WORDS[i] for i in rng.integers(0, len(WORDS), int(rng.integers(1, 5)))]
        return (" " * int(rng.integers(1, 3))).join(words)

    references, predictions = [], []
    for _ in range(n):
        golds = [] if rng.random() < unanswerable else [text() for _ in range(int(rng.integers(1, 4)))]
        references.append(golds)
        roll = rng.random()
        if golds and roll < 0.3:
            predictions.append(golds[0].upper() + " .")
        else:
            predictions.append("" if roll < 0.5 else text())
    return references, predictions


# ---- tests -------------------------------------------------------------------------------------------


def test_v1_matches_the_official_script_on_random_cases():
    rng = np.random.default_rng(0)
    for _ in range(100):
        references, predictions = random_case(rng, int(rng.integers(1, 12)), unanswerable=0.0)
        got = squad_metrics(predictions, references)
        want = v1_evaluate(as_dataset(references), by_id(predictions))
        assert set(got) == {"exact", "f1", "examples"}
        assert got == pytest.approx(
            {"exact": want["exact_match"], "f1": want["f1"], "examples": len(references)}
        )


@pytest.mark.parametrize("with_na_probs", [False, True])
def test_v2_matches_the_official_script_on_random_cases(with_na_probs):
    rng = np.random.default_rng(1)
    for _ in range(100):
        n = int(rng.integers(1, 12))
        references, predictions = random_case(rng, n, unanswerable=0.4)
        # Rounded so that ties occur; scores above 1 too, as null-score differences are not probabilities.
        na_probs = list(np.round(rng.uniform(-1, 2, n), 1)) if with_na_probs else None
        # The reporting threshold at 1.0 (the script's default) or at one of the scores, to test ties with it.
        thresh = float(rng.choice(na_probs)) if with_na_probs and rng.random() < 0.5 else 1.0
        got = squad_metrics(predictions, references, na_probs=na_probs, version="2.0", na_prob_thresh=thresh)
        want = v2_evaluate(
            as_dataset(references), by_id(predictions), by_id(na_probs) if with_na_probs else None, thresh
        )
        assert {OURS_TO_OFFICIAL[k] for k in got} == set(want)
        assert {OURS_TO_OFFICIAL[k]: v for k, v in got.items()} == pytest.approx(want)


def test_hand_computed_values():
    assert normalize_answer("The  Quick, brown-fox!") == "quick brownfox"
    assert normalize_answer("An apple at the theater") == "apple at theater"
    # Gold {cat, sat}, predicted {cat, sat, down}: precision 2/3, recall 1, F1 0.8.
    assert token_f1("the cat sat", "a cat sat down") == pytest.approx(0.8)
    assert token_f1("", "") == 1.0 and token_f1("", "", version="1.1") == 0.0
    got = compute_metrics("qa", ["Cat", "a cat sat down", "", "x"], [["the cat", "dog"], ["cat sat"], [], []])
    assert got == pytest.approx(
        {
            "exact": 50.0,
            "f1": 100 * (1 + 0.8 + 1 + 0) / 4,
            "examples": 4,
            "has_answer_exact": 50.0,
            "has_answer_f1": 90.0,
            "has_answer_examples": 2,
            "no_answer_exact": 50.0,
            "no_answer_f1": 50.0,
            "no_answer_examples": 2,
        }
    )


def test_best_threshold_by_hand():
    # q0 answerable and right (na 0.1), q1 unanswerable but answered (na 0.9), q2 answerable and wrong (na 0.5).
    # Answering nothing scores 1 (q1); letting q0 answer makes 2, q2 adds 0, q1 answering drops to 1.
    assert find_best_threshold(["a", "x", "b"], [1.0, 0.0, 0.0], [0.1, 0.9, 0.5], [True, False, True]) == (
        pytest.approx(200 / 3),
        0.1,
    )


def test_version_defaults_and_errors():
    assert "no_answer_f1" in squad_metrics(["", "a"], [[], ["a"]])  # an unanswerable question means v2.0
    assert "has_answer_f1" in squad_metrics(["a"], [["a"]], na_probs=[0.2])
    with pytest.raises(InvalidArgumentError, match="`references` item 0 has no gold answer"):
        squad_metrics([""], [[]], version="1.1")
    with pytest.raises(InvalidArgumentError, match="`version` must be one of 1.1, 2.0"):
        squad_metrics(["a"], [["a"]], version="3")
    with pytest.raises(InvalidArgumentError, match="`na_probs` has 1 scores but there are 2 questions"):
        squad_metrics(["a", "b"], [["a"], ["b"]], na_probs=[0.1])
    with pytest.raises(InvalidArgumentError, match="`references` item 0 must be a list of gold answer texts"):
        squad_metrics(["a"], ["a"])
    with pytest.raises(InvalidArgumentError, match="`predictions` has 1 answers but `references` has 2"):
        squad_metrics(["a"], [["a"], ["b"]])
