"""Pipelines: bertkit's vs transformers' on the same inputs, checkpoints and threads, in one process.

Checkpoints: the all-MiniLM-L6-v2 encoder under seeded random heads (an MLM head, a 3-label classifier, a
6-label tagger, a QA head), saved by transformers in Hugging Face's layout; speed does not depend on what
the heads learned. Inputs: Debian's fortunes (harness.fortune_lines); fill-mask masks the
middle word of each, question answering asks two questions of each fortune (and, as "long", of each of the
longest fortunes, up to 660 tokens, which need up to 3 windows).
transformers' pipelines get the same `batch_size` as ours (they pad each batch to its longest input, in the
order given); `--reference-batch-size 1`, their default, runs them one input at a time, without padding.
transformers 5 has no question-answering pipeline: its reference is what that pipeline did, rebuilt from
transformers' parts: the tokenizer's overflowing windows, the model on each question's windows (one batch per
question), and `select_starts_ends` (kept in its document-QA pipeline) per window.

Both sides get the whole list of inputs in one call (question answering: bertkit gets the list of questions and
batches the windows of all of them by length; the reference runs the model once per question, on that
question's windows, as the removed pipeline did). Before timing, the outputs are checked equal (labels, tokens,
words, spans exactly; scores within 1e-4). Rounds alternate the two (harness.interleaved); the medians of the
per-round wall-clock and CPU-time (this process's) ratios are reported.

    python benchmarks/pipelines.py [--count 256] [--rounds 3] [--threads 1]
"""

import tempfile
from pathlib import Path

import harness
import numpy as np
import torch
import transformers
from transformers.pipelines.document_question_answering import select_starts_ends

from bertkit import pipeline

QUESTIONS = ("Who said it?", "What is the main point?")
HEADS = {
    "fill-mask": ("BertForMaskedLM", {}),
    "text-classification": ("BertForSequenceClassification", {"id2label": {0: "neg", 1: "neu", 2: "pos"}}),
    "token-classification": (
        "BertForTokenClassification",
        {"id2label": dict(enumerate(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "MISC"]))},
    ),
    "question-answering": ("BertForQuestionAnswering", {}),
}


def checkpoint(root: Path, task: str) -> Path:
    class_name, config = HEADS[task]
    return harness.minilm_with_head(root / task, class_name, **config)


def masked(text: str) -> str:
    words = text.split()
    words[len(words) // 2] = "[MASK]"
    return " ".join(words)


class ReferenceQA:
    """transformers' removed question-answering pipeline, from its parts (see the module's docstring)."""

    def __init__(self, directory: Path):
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
        self.model = transformers.BertForQuestionAnswering.from_pretrained(directory).eval()

    @torch.inference_mode()
    def __call__(self, question: str, context: str) -> dict:
        enc = self.tokenizer(
            question, context, truncation="only_second", max_length=384, stride=128, padding=True,
            return_overflowing_tokens=True, return_offsets_mapping=True, return_tensors="pt",
        )  # fmt: skip
        out = self.model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        answers, null = [], 1e6
        for i, window in enumerate(enc.encodings):
            p_mask = np.array([[s != 1 for s in enc.sequence_ids(i)]], dtype=np.int64)
            p_mask[0, 0] = 0
            starts, ends, scores, null = select_starts_ends(
                out.start_logits[i : i + 1].numpy(), out.end_logits[i : i + 1].numpy(), p_mask,
                enc["attention_mask"][i : i + 1].numpy(), null, 1, False, 15,
            )  # fmt: skip
            for s, e, score in zip(starts, ends, scores, strict=True):
                a = window.word_to_chars(window.token_to_word(s), sequence_index=1)[0]
                b = window.word_to_chars(window.token_to_word(e), sequence_index=1)[1]
                answers.append({"score": float(score), "start": a, "end": b, "answer": context[a:b]})
        return max(answers, key=lambda x: x["score"])


def assert_same(ours, theirs, where: str = "output") -> None:
    """Equal outputs: the same structure and values, numbers within 1e-4 (numpy scalars read as numbers)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), f"{where}: keys {ours} != {theirs}"
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, list | tuple):
        assert isinstance(ours, list | tuple) and len(ours) == len(theirs), f"{where}: {ours} != {theirs}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(theirs, float | np.floating):
        assert abs(float(ours) - float(theirs)) <= 1e-4, f"{where}: {ours} != {theirs}"
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def main() -> None:
    parser = harness.parser(__doc__, threads=1)
    parser.add_argument("--count", type=int, default=256, help="inputs per task")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--reference-batch-size",
        type=int,
        help="transformers' batch_size (default: --batch-size; its own is 1)",
    )
    names = [*HEADS, "question-answering (long)"]
    parser.add_argument("--tasks", nargs="+", default=names, choices=names)
    args = parser.parse_args()
    results = harness.Results(args)
    texts = harness.fortune_lines(2000)
    inputs = {
        "fill-mask": [masked(t) for t in texts if len(t.split()) >= 3][: args.count],
        "text-classification": texts[: args.count],
        "token-classification": texts[: args.count],
        "question-answering": [
            {"question": q, "context": t} for t in texts[: args.count // 2] for q in QUESTIONS
        ],
        "question-answering (long)": [
            {"question": q, "context": t}
            for t in sorted(texts, key=len, reverse=True)[: args.count // 2]
            for q in QUESTIONS
        ],
    }
    print(f"all-MiniLM-L6-v2 with random heads, batch {args.batch_size}, {args.rounds} rounds, median ratio")
    checkpoints: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.tasks:
            task = name.removesuffix(" (long)")
            directory = checkpoints.get(task) or checkpoint(Path(tmp), task)
            checkpoints[task] = directory
            ours = pipeline(task, model=directory, batch_size=args.batch_size)
            data = inputs[name]
            if task == "question-answering":
                reference = ReferenceQA(directory)

                def run_reference(data=data, reference=reference):
                    return [reference(**item) for item in data]
            else:
                hf = transformers.pipeline(task, model=str(directory), device="cpu")

                def run_reference(data=data, hf=hf):
                    return hf(data, batch_size=args.reference_batch_size or args.batch_size)

            def run_ours(data=data, ours=ours):
                return ours(data)

            assert_same(run_ours(), run_reference(), name)  # and a warm-up
            times = harness.interleaved(
                {"ours": run_ours, "reference": run_reference}, args.rounds, warmup=False
            )
            ours_t, ref_t = times["ours"], times["reference"]
            wall, cpu = harness.speedup(ref_t, ours_t), harness.speedup(ref_t, ours_t, cpu=True)
            print(
                f"{name:>25}: {len(data):4d} inputs  bertkit {ours_t.median:6.2f} s  "
                f"transformers {ref_t.median:6.2f} s  ratio {wall:.2f}x wall, {cpu:.2f}x CPU (target >= 1.5x)"
            )
            how = (
                "the reference one question a call"
                if task == "question-answering"
                else f"transformers batch {args.reference_batch_size or args.batch_size}"
            )
            results.add(
                f"Pipelines: {name}, {how}",
                f"{len(data) / ours_t.median:.1f} inputs/s",
                f"{len(data) / ref_t.median:.1f} inputs/s (transformers pipeline)",
                wall,
                "outputs equal (scores within 1e-4)",
                note=f"{len(data)} fortunes, CPU time {cpu:.2f}x",
            )


if __name__ == "__main__":
    main()
