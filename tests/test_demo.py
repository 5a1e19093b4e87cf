from pathlib import Path

from bertkit.demo import run_demo

CORPUS = Path(__file__).resolve().parent.parent / "data" / "tang300.txt"


def test_demo_runs_every_stage_and_resumes(tmp_path, capsys):
    final = run_demo(CORPUS, tmp_path / "demo", max_steps=2)
    out = capsys.readouterr().out
    assert (final / "config.json").exists() and (final / "vocab.txt").exists()
    assert (tmp_path / "demo" / "loss.png").stat().st_size > 0
    assert "床前明[MASK]光" in out and "P(B follows A)" in out
    # A second run reuses every stage instead of training again.
    assert run_demo(CORPUS, tmp_path / "demo", max_steps=2) == final
    assert "using the model already trained" in capsys.readouterr().out


def test_the_quoted_poems_are_in_the_training_split():
    """The cloze lines test what the model memorised, so none of their poems may be held out."""
    import numpy as np

    from bertkit.data.corpus import iter_documents
    from bertkit.data.prepare import is_heldout
    from bertkit.demo import CLOZE_LINES, HELDOUT_FRACTION, NSP_PAIRS

    documents = ["".join(sentences) for sentences, _ in iter_documents([CORPUS])]
    heldout = is_heldout(np.arange(len(documents)), HELDOUT_FRACTION)
    assert heldout.any()
    quoted = [text.replace("[MASK]", answer) for text, answer in CLOZE_LINES] + [
        NSP_PAIRS[0][0],
        NSP_PAIRS[0][1],
    ]
    for line in quoted:
        [index] = [i for i, doc in enumerate(documents) if line in doc]
        assert not heldout[index], line
