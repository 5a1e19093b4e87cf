"""The benchmark harness's own logic: timing order and arithmetic, the machine's header, the records."""

import argparse
import json

import harness
import pytest

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse sse2 avx avx2 fma bmi2
processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse sse2 avx avx2 fma bmi2
"""

XEON = "model name\t: Intel(R) Xeon(R) Platinum 8481C\nflags\t: avx2 avx512f avx512_bf16 amx_bf16 amx_int8\n"


def test_parse_cpuinfo_reads_the_model_and_the_flags_that_choose_kernels():
    assert harness.parse_cpuinfo(CPUINFO) == ("AMD EPYC 7B13", ("avx2",))
    assert harness.parse_cpuinfo(XEON) == ("Intel(R) Xeon(R) Platinum 8481C", harness.FLAGS)
    assert harness.parse_cpuinfo("") == ("unknown CPU", ())


def test_the_machine_header_names_cpu_flags_and_threads():
    host = harness.Machine("AMD EPYC", ("avx2",), 2, 1, "2.13.0", "2026-12-08 05:00")
    header = host.header()
    assert header.startswith("# 2026-12-08 05:00 UTC; AMD EPYC, 2 cores, flags avx2; torch 2.13.0, 1 threads")
    assert "none of avx2" in harness.Machine("x", (), 1, 1, "2", "d").header()


def test_interleaved_alternates_the_contenders_round_by_round_after_one_warm_up_each():
    calls = []
    contenders = {name: (lambda name=name: calls.append(name) or name) for name in ("ours", "theirs")}
    times = harness.interleaved(contenders, rounds=3, steps=2)
    assert calls == ["ours", "theirs"] + ["ours", "ours", "theirs", "theirs"] * 3
    assert all(len(t.wall) == len(t.cpu) == 3 for t in times.values())
    assert times["ours"].outputs == ["ours", "ours"]  # the last round's


def test_interleaved_alternates_chunk_by_chunk_and_keeps_the_outputs_in_order():
    calls = []
    contenders = {name: (lambda chunk, name=name: calls.append((name, chunk)) or chunk * 2) for name in "ab"}
    times = harness.interleaved(contenders, rounds=2, chunks=[1, 2], warmup=False)
    assert calls == [("a", 1), ("b", 1), ("a", 2), ("b", 2)] * 2
    assert times["a"].outputs == [2, 4]
    assert len(times["a"].wall) == 2  # one total per round, not per chunk


def test_medians_and_ratios_are_taken_per_round():
    assert harness.median_ratio([4.0, 9.0, 2.0], [2.0, 3.0, 2.0]) == 2.0  # ratios 2, 3, 1
    reference = harness.Timing(wall=[4.0, 9.0, 2.0], cpu=[1.0, 1.0, 1.0])
    ours = harness.Timing(wall=[2.0, 3.0, 2.0], cpu=[0.5, 0.5, 0.5])
    assert reference.median == 4.0 and ours.median_cpu == 0.5
    assert harness.speedup(reference, ours) == 2.0
    assert harness.speedup(reference, ours, cpu=True) == 2.0
    with pytest.raises(ValueError):
        harness.median_ratio([1.0], [1.0, 2.0])


def test_a_record_holds_the_figure_its_machine_and_its_command(tmp_path):
    host = harness.Machine("AMD EPYC", ("avx2",), 2, 1, "2.13.0", "2026-12-08 05:00")
    command = harness.command([str(harness.ROOT / "benchmarks" / "embed.py"), "--count", "100"])
    assert command == "python benchmarks/embed.py --count 100"
    r = harness.record(
        "Sentence embeddings", "80 texts/s", "50 texts/s (st)", 1.6049, "cosine 1.0", host, command
    )
    assert r == {
        "capability": "Sentence embeddings",
        "bertkit": "80 texts/s",
        "reference": "50 texts/s (st)",
        "ratio": 1.6,
        "parity": "cosine 1.0",
        "cpu": "AMD EPYC",
        "flags": ["avx2"],
        "cores": 2,
        "threads": 1,
        "torch": "2.13.0",
        "date": "2026-12-08 05:00",
        "command": "python benchmarks/embed.py --count 100",
        "source": "measured",
        "note": "",
    }
    path = tmp_path / "results.jsonl"
    harness.append(path, [r, r | {"ratio": None}])
    assert [json.loads(line)["ratio"] for line in path.read_text().splitlines()] == [1.6, None]
    assert harness.read(path) == [r, r | {"ratio": None}]


def test_latest_keeps_the_newest_record_of_each_capability_in_first_seen_order():
    records = [
        {"capability": "b", "date": "2026-11-25", "n": 1},
        {"capability": "a", "date": "2026-12-01", "n": 2},
        {"capability": "b", "date": "2026-12-08 05:00", "n": 3},
        {"capability": "a", "date": "2026-11-30", "n": 4},  # older: not the current figure
        {"capability": "b", "date": "2026-12-08 05:00", "n": 5},  # a tie: the later line
    ]
    assert [r["n"] for r in harness.latest(records)] == [5, 2]


def test_the_corpus_reads_fortune_files_and_bundled_files_by_their_separators(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "FORTUNES_DIR", tmp_path)
    (tmp_path / "food").write_text("Eat.\n%\nDrink\n  and be merry.\n%\n", encoding="utf-8")
    (tmp_path / "food.dat").write_bytes(b"\0")
    assert harness.read_documents(tmp_path / "food") == ["Eat.", "Drink\n  and be merry."]
    assert harness.fortune_files() == [tmp_path / "food"]
    assert harness.one_line("Drink\n  and be merry.") == "Drink and be merry."
    bundled = harness.read_documents(harness.DATA / "fortunes_en.txt")
    assert bundled and all(d == d.strip() and "\n\n" not in d for d in bundled)
    assert len(harness.fortune_lines(10)) == 10


def test_a_run_appends_one_line_per_figure_with_this_machine(tmp_path, capsys):
    path = tmp_path / "results.jsonl"
    run = harness.Results(argparse.Namespace(results=str(path), threads=0))
    run.add("Tokenizer: x", "2 MB/s", "1 MB/s", 2.0, "ids identical")
    run.add("Tokenizer: y", "1 s", "1 s", None, "-", note="small")
    header, first, _ = capsys.readouterr().out.splitlines()
    assert header.startswith("# ") and "torch" in header
    assert first == "result: Tokenizer: x: bertkit 2 MB/s, reference 1 MB/s  ratio 2.00x (ids identical)"
    records = harness.read(path)
    assert [r["capability"] for r in records] == ["Tokenizer: x", "Tokenizer: y"]
    assert set(records[0]["flags"]) <= set(harness.FLAGS) and records[1]["note"] == "small"
    harness.Results(argparse.Namespace(results="-", threads=0)).add("Tokenizer: z", "", "", None, "")
    assert len(harness.read(path)) == 2  # "-" records nothing
