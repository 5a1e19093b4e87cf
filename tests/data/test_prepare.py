import json
import signal
import subprocess
import sys

import numpy as np
import pytest

import bertkit.data.prepare as prepare_module
from bertkit.cli import main
from bertkit.data.corpus import iter_documents
from bertkit.data.prepare import is_heldout, prepare_corpus
from bertkit.data.shards import Manifest, read_shard
from bertkit.errors import FileFormatError, InvalidArgumentError


def prepare(inputs, tokenizer_dir, out, **kw):
    kw = {"workers": 0, "shard_bytes": 64_000, "show_progress": False, **kw}
    return prepare_corpus(inputs, tokenizer_dir, out, **kw)


def test_shards_hold_every_sentence_tokenized_in_corpus_order(
    data_dir, tokenizer, corpus_files, documents_tokens
):
    manifest = Manifest.load(data_dir)
    assert manifest.complete and len(manifest.shards) > 3
    assert manifest.dtype == "uint16" and manifest.tokenizer_fingerprint == tokenizer.fingerprint()
    expected = [
        np.concatenate([np.array(ids, dtype=np.int64) for ids in tokenizer.tokenize_to_ids(sentences)])
        for sentences, _ in iter_documents(corpus_files)
    ]
    got = documents_tokens(data_dir)
    assert len(got) == len(expected) == manifest.total("documents")
    assert all(np.array_equal(g, e) for (g, _), e in zip(got, expected, strict=True))
    assert manifest.total("input_bytes") == sum(p.stat().st_size for p in corpus_files)
    for info in manifest.shards:
        shard = read_shard(data_dir, info)
        assert shard.tokens.dtype == np.uint16 and shard.sentences[-1] == len(shard.tokens)
        assert np.all(np.diff(shard.sentences) > 0)


def test_heldout_split_follows_the_document_index_rule(data_dir, documents_tokens):
    held = np.array([h for _, h in documents_tokens(data_dir)])
    # No document of the bundled corpora is empty, so the prepared index is the corpus index.
    assert np.array_equal(held, is_heldout(np.arange(len(held)), 0.05))
    assert held.mean() == pytest.approx(0.05, abs=0.015)
    assert Manifest.load(data_dir).total("heldout_documents") == held.sum()


def test_worker_processes_write_the_same_shards(tmp_path, tokenizer_dir, data_dir, corpus_files):
    manifest = prepare(corpus_files, tokenizer_dir, tmp_path, workers=2, heldout_fraction=0.05)
    assert manifest.shards == Manifest.load(data_dir).shards
    for info in manifest.shards:
        mine, theirs = read_shard(tmp_path, info), read_shard(data_dir, info)
        assert all(
            np.array_equal(getattr(mine, a), getattr(theirs, a))
            for a in ("tokens", "sentences", "documents", "heldout")
        )


# Runs prepare in a child process that SIGKILLs itself while writing its fourth shard.
KILLED_MID_SHARD = """
import os, signal, sys
import bertkit.data.prepare as prepare
written = []

def write_then_die(out_dir, name, shard):
    written.append(name)
    if len(written) == 4:
        (out_dir / (name + ".tmp")).mkdir()
        (out_dir / (name + ".tmp") / "tokens.npy").write_bytes(b"half a file")
        os.kill(os.getpid(), signal.SIGKILL)
    real_write_shard(out_dir, name, shard)

real_write_shard, prepare.write_shard = prepare.write_shard, write_then_die
*inputs, tokenizer_dir, out = sys.argv[1:]
prepare.prepare_corpus(inputs, tokenizer_dir, out, heldout_fraction=0.05, workers=0, shard_bytes=64_000,
                       show_progress=False)
"""


def test_a_killed_run_resumes_where_it_stopped(tmp_path, tokenizer_dir, monkeypatch, data_dir, corpus_files):
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_SHARD, *map(str, corpus_files), str(tokenizer_dir), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    partial = Manifest.load(tmp_path)
    assert not partial.complete and [s.name for s in partial.shards] == [
        "shard-00000",
        "shard-00001",
        "shard-00002",
    ]
    assert (tmp_path / "shard-00003.tmp").is_dir()

    original, tokenized = prepare_module.tokenize_shard, []

    def counting(task, tokenizer):
        tokenized.append(task.name)
        return original(task, tokenizer)

    monkeypatch.setattr(prepare_module, "tokenize_shard", counting)
    manifest = prepare(corpus_files, tokenizer_dir, tmp_path, heldout_fraction=0.05)
    assert manifest.complete and manifest.shards == Manifest.load(data_dir).shards
    assert tokenized == [s.name for s in manifest.shards[3:]]  # the three finished shards are kept
    assert not list(tmp_path.glob("*.tmp"))
    for info in manifest.shards:
        mine, fresh = read_shard(tmp_path, info), read_shard(data_dir, info)
        assert np.array_equal(mine.tokens, fresh.tokens) and np.array_equal(mine.documents, fresh.documents)
    tokenized.clear()
    assert prepare(corpus_files, tokenizer_dir, tmp_path, heldout_fraction=0.05) == manifest and not tokenized


def test_other_settings_in_an_existing_directory_are_refused(tmp_path, tokenizer_dir, corpus_files):
    prepare(corpus_files[:1], tokenizer_dir, tmp_path)
    with pytest.raises(InvalidArgumentError, match="different heldout_fraction.*choose another `out_dir`"):
        prepare(corpus_files[:1], tokenizer_dir, tmp_path, heldout_fraction=0.2)
    with pytest.raises(InvalidArgumentError, match="different inputs"):
        prepare(corpus_files, tokenizer_dir, tmp_path)


def test_vocabularies_beyond_uint16_store_int32(tmp_path, tokenizer):
    big = tmp_path / "vocab.txt"
    big.write_text("\n".join(tokenizer.ids_to_tokens + [f"[extra{i}]" for i in range(40_000)]) + "\n")
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world.\nsecond line.\n\nanother document.\n")
    manifest = prepare([corpus], big, tmp_path / "out")
    assert manifest.dtype == "int32"
    assert read_shard(tmp_path / "out", manifest.shards[0]).tokens.dtype == np.int32


def test_empty_corpus_is_a_clear_error(tmp_path, tokenizer_dir):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n   \n")
    with pytest.raises(FileFormatError, match="empty.txt: the corpus holds no text"):
        prepare([empty], tokenizer_dir, tmp_path / "out")
    assert not list((tmp_path / "out").iterdir())  # nothing that would block a rerun once the file has text


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"heldout_fraction": 1.0}, r"`heldout_fraction` must be a number in \[0, 1\), got 1.0"),
        ({"workers": -1}, "`workers` must be an integer >= 0, got -1"),
        ({"shard_bytes": 0}, "`shard_bytes` must be a positive integer, got 0"),
    ],
)
def test_bad_arguments_are_named(tmp_path, tokenizer_dir, corpus_files, kw, message):
    with pytest.raises(InvalidArgumentError, match=message):
        prepare(corpus_files[:1], tokenizer_dir, tmp_path, **kw)


def test_cli_prepares_and_reports_errors_in_one_line(tmp_path, tokenizer_dir, capsys, corpus_files):
    out = tmp_path / "out"
    assert (
        main(
            [
                "prepare",
                "--input",
                str(corpus_files[0]),
                "--tokenizer",
                str(tokenizer_dir),
                "--out",
                str(out),
                "--heldout-fraction",
                "0.1",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    assert "documents" in capsys.readouterr().out
    assert json.loads((out / "manifest.json").read_text())["heldout_fraction"] == 0.1
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n\xff\xfe broken\n")
    assert (
        main(
            ["prepare", "--input", str(bad), "--tokenizer", str(tokenizer_dir), "--out", str(tmp_path / "o2")]
        )
        == 2
    )
    last_line = capsys.readouterr().err.splitlines()[-1]  # after the progress bar
    assert (
        last_line.startswith("bertkit: error: ") and "bad.txt: not valid UTF-8 at byte offset 5" in last_line
    )


def test_a_directory_of_jsonl_and_text_is_prepared_in_sorted_file_order(tmp_path, tokenizer_dir, tokenizer):
    corpus = tmp_path / "corpus"
    (corpus / "b").mkdir(parents=True)
    (corpus / "a.jsonl").write_text(
        '{"text": "First record. It has two sentences."}\n{"text": "Second record."}\n'
    )
    (corpus / "b" / "c.txt").write_text("A text document.\nWith two lines.\n")
    manifest = prepare([corpus], tokenizer_dir, tmp_path / "out", workers=2)
    shard = read_shard(tmp_path / "out", manifest.shards[0])
    sentences = [
        "First record.",
        "It has two sentences.",
        "Second record.",
        "A text document.",
        "With two lines.",
    ]
    expected = [i for ids in tokenizer.tokenize_to_ids(sentences) for i in ids]
    assert shard.tokens.tolist() == expected
    assert shard.documents.tolist() == [0, 2, 3, 5]
