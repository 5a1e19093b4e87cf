"""docs/benchmarks.md's results table is generated from benchmarks/results.jsonl, never written by hand."""

import harness
import report

HOST = harness.Machine("AMD EPYC", ("avx2",), 2, 1, "2.13.0", "2026-12-08 05:00")
RECORD = harness.record(
    "Sentence embeddings: MiniLM | fortunes",
    "80 texts/s",
    "50 texts/s",
    1.6,
    "cosine 1.0",
    HOST,
    "python benchmarks/embed.py",
)


def test_the_table_has_one_row_per_capability_with_its_machine_and_command():
    older = RECORD | {"date": "2026-11-30", "ratio": 1.2}
    from_history = RECORD | {"capability": "Generation: x", "ratio": None, "source": "history", "flags": None}
    lines = report.table([older, RECORD, from_history]).splitlines()
    assert lines[0] == "| " + " | ".join(report.COLUMNS) + " |"
    assert len(lines) == 4
    # In the areas' order (generation before embeddings), each capability's latest record.
    assert lines[2].startswith("| Generation: x | 80 texts/s | 50 texts/s | - |")
    assert "flags not recorded" in lines[2] and "[history](benchmarks-history.md)" in lines[2]
    assert lines[3].startswith(
        "| Sentence embeddings: MiniLM \\| fortunes | 80 texts/s | 50 texts/s | **1.60x** |"
    )
    assert "AMD EPYC, avx2, 2 cores, 1 threads" in lines[3] and "`python benchmarks/embed.py`" in lines[3]


def test_the_table_goes_between_the_markers_and_nothing_else_changes():
    page = f"# Benchmarks\n\n{report.BEGIN}\nold table\n{report.END}\n\nThe rest.\n"
    new = report.with_table(page, [RECORD])
    assert new.startswith(f"# Benchmarks\n\n{report.BEGIN}\n| capability |")
    assert new.endswith(f"{report.END}\n\nThe rest.\n") and "old table" not in new
    assert report.with_table(new, [RECORD]) == new


def test_the_page_shows_the_table_results_jsonl_gives():
    page = report.PAGE.read_text(encoding="utf-8")
    assert report.with_table(page, harness.read()) == page, "run `python benchmarks/report.py`"


def test_every_record_in_results_jsonl_has_the_fields_of_a_figure():
    records = harness.read()
    assert records
    for r in records:
        assert set(RECORD) <= set(r), r
        assert r["source"] in ("measured", "history")
        assert r["command"].startswith("python benchmarks/"), r["command"]
        assert r["capability"].partition(":")[0] in report.AREAS, r["capability"]
