"""The project's own promises: `make bench` runs every benchmark, CI runs the README's test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_make_bench_runs_every_benchmark_script():
    scripts = {
        p.name for p in (ROOT / "benchmarks").glob("*.py") if "__main__" in p.read_text(encoding="utf-8")
    }
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    bench = makefile[makefile.index("\nbench:") :].split("\n\n")[0]
    assert scripts == set(re.findall(r"benchmarks/(\w+\.py)", bench))


def test_every_benchmark_the_docs_cite_exists():
    cited = set(
        re.findall(r"benchmarks/(\w+\.py)", (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8"))
    )
    assert cited and all((ROOT / "benchmarks" / name).is_file() for name in cited)


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(encoding="utf-8"), re.M)
