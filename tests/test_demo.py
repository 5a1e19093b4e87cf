from pathlib import Path

from bertkit.demo import run_demo

CORPUS = Path(__file__).resolve().parent.parent / "data" / "tang300.txt"


def test_demo_runs_every_stage_and_resumes(tmp_path, capsys):
    final = run_demo(CORPUS, tmp_path / "demo", max_steps=2)
    out = capsys.readouterr().out
    assert (final / "config.json").exists() and (final / "vocab.txt").exists()
    assert (tmp_path / "demo" / "run" / "loss.png").stat().st_size > 0
    assert "床前明[MASK]光" in out and "P(B follows A)" in out
    # A second run reuses every stage instead of training again.
    assert run_demo(CORPUS, tmp_path / "demo", max_steps=2) == final
    assert "using the model already trained" in capsys.readouterr().out
