"""Vocabulary learning: bertkit's learn_vocab vs Hugging Face `tokenizers`' WordPieceTrainer, in one process.

Both learn from the same training file with the same normalisation (uncased BERT), vocabulary size,
min_frequency and special tokens. Prints the learning time of each and their ratio, then the [UNK] rate and
tokens per word of each vocabulary on held-out text (every 10th document), both tokenized by `tokenizers`'
WordPiece so only the vocabularies differ.

Corpus: the benchmark corpus (harness.documents: the bundled data/fortunes_en.txt and data/tang300.txt plus
Debian's fortune files, a few MB of English with some Chinese, when installed). The two learners alternate
round by round (harness.interleaved); medians of wall and CPU time (all threads: what each learner would need
alone, the fairer figure when other jobs share the machine).

    python benchmarks/tokenizer_train.py [--vocab-size 30000] [--min-frequency 2] [--repeats 3]
"""

import tempfile
from pathlib import Path

import harness
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from bertkit.constants import CONTINUATION, SPECIAL_TOKENS
from bertkit.tokenizer.learn import learn_vocab


def hf_bert_tokenizer(vocab: dict[str, int] | None = None) -> Tokenizer:
    tok = Tokenizer(models.WordPiece(vocab or {"[UNK]": 0}, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


def hf_learn(train_file: Path, vocab_size: int, min_frequency: int) -> list[str]:
    tok = hf_bert_tokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        continuing_subword_prefix=CONTINUATION,
        show_progress=False,
    )
    tok.train([str(train_file)], trainer=trainer)
    vocab = tok.get_vocab()
    return sorted(vocab, key=vocab.__getitem__)


def held_out_stats(vocab: list[str], lines: list[str]) -> tuple[float, float]:
    """[UNK] rate (share of tokens) and tokens per word of `lines` under `vocab`."""
    tok = hf_bert_tokenizer({t: i for i, t in enumerate(vocab)})
    encodings = tok.encode_batch(lines, add_special_tokens=False)
    tokens = sum(len(e.tokens) for e in encodings)
    unknown = sum(e.tokens.count("[UNK]") for e in encodings)
    words = sum(len(set(e.word_ids)) for e in encodings)
    return unknown / tokens, tokens / words


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--vocab-size", type=int, default=30000)
    parser.add_argument("--min-frequency", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = harness.Results(args)

    docs = harness.documents()
    train_docs = [d for i, d in enumerate(docs) if i % 10 != 9]
    held_out = [line for i, d in enumerate(docs) if i % 10 == 9 for line in d.split("\n")]
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.txt"
        train_file.write_text("\n\n".join(train_docs) + "\n", encoding="utf-8")
        size_mb = train_file.stat().st_size / 1e6
        print(
            f"corpus: {len(docs)} documents; training file {size_mb:.2f} MB, held-out {len(held_out)} lines"
        )
        times = harness.interleaved(
            {
                "bertkit": lambda: learn_vocab(
                    train_file, args.vocab_size, min_frequency=args.min_frequency, show_progress=False
                ),
                "tokenizers": lambda: hf_learn(train_file, args.vocab_size, args.min_frequency),
            },
            args.repeats,
            warmup=False,
        )
    ours, hf = times["bertkit"].outputs[0], times["tokenizers"].outputs[0]
    wall = harness.speedup(times["tokenizers"], times["bertkit"])
    cpu = harness.speedup(times["tokenizers"], times["bertkit"], cpu=True)
    print(
        f"\nvocabulary learning, vocab_size={args.vocab_size}, min_frequency={args.min_frequency}, "
        f"median of {args.repeats}"
    )
    for name, vocab in (("bertkit", ours), ("tokenizers", hf)):
        t = times[name]
        print(f"  {name:<11} {t.median:7.2f} s wall  {t.median_cpu:7.2f} s CPU  ({len(vocab)} tokens)")
    print(
        f"  speed-up over tokenizers: {wall:.2f}x wall, {cpu:.2f}x CPU (target: bertkit within 3x, >= 0.33x)"
    )
    shared = len(set(ours) & set(hf))
    print(f"  tokens in both vocabularies: {shared} ({shared / len(hf):.1%} of tokenizers')")

    print(f"\nheld-out text ({len(held_out)} lines), tokenized by tokenizers' WordPiece")
    stats = {}
    for name, vocab in (("bertkit", ours), ("tokenizers", hf)):
        stats[name] = held_out_stats(vocab, held_out)
        print(f"  {name:<11} [UNK] rate {stats[name][0]:.3%}   tokens/word {stats[name][1]:.3f}")
    results.add(
        f"Tokenizer: learning a WordPiece vocabulary of {args.vocab_size:,}",
        f"{times['bertkit'].median:.2f} s",
        f"{times['tokenizers'].median:.2f} s (tokenizers' WordPieceTrainer)",
        wall,
        f"tokens/word on held-out text {stats['bertkit'][1]:.3f} vs {stats['tokenizers'][1]:.3f}; "
        f"{shared / len(hf):.0%} of tokens shared",
        note=f"{size_mb:.2f} MB training file; CPU time {cpu:.2f}x",
    )


if __name__ == "__main__":
    main()
