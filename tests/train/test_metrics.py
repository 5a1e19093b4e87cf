import json
import sys

import pytest

from bertkit.errors import FileFormatError
from bertkit.train.metrics import MetricsLog, read_metrics, training_seconds
from bertkit.train.plot import plot_run


def write(run_dir, steps):
    log = MetricsLog(run_dir)
    for step in steps:
        log.write(
            {
                "step": step,
                "split": "train",
                "loss": 10.0 / step,
                "mlm_acc": 0.1,
                "nsp_acc": 0.5,
                "lr": 1e-4,
                "tokens_per_s": 100.0,
            }
        )
    log.write({"step": steps[-1], "split": "heldout", "loss": 1.0, "mlm_acc": 0.2, "nsp_acc": 0.6})
    log.close()


def test_resume_drops_records_after_the_checkpoint(tmp_path):
    write(tmp_path, [1, 2, 3, 4])
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "lo')  # torn by a kill mid-write
    log = MetricsLog(tmp_path, resume_step=2)
    log.write({"step": 3, "loss": 0.5})
    log.close()
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3]


def test_a_fresh_run_starts_a_fresh_file(tmp_path):
    write(tmp_path, [1, 2])
    write(tmp_path, [1])
    assert [r["split"] for r in read_metrics(tmp_path)] == ["train", "heldout"]


def test_bad_metrics_file(tmp_path):
    with pytest.raises(FileFormatError, match="no metrics file"):
        read_metrics(tmp_path)
    (tmp_path / "metrics.jsonl").write_text("oops\n" + json.dumps({"step": 1}) + "\n")
    with pytest.raises(FileFormatError, match="metrics.jsonl:1: not a JSON object"):
        read_metrics(tmp_path)


def test_plot_writes_a_png(tmp_path):
    write(tmp_path, [1, 2, 3])
    out = plot_run(tmp_path)
    assert out == tmp_path / "loss.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_run(tmp_path, tmp_path / "elsewhere" / "curves.png").stat().st_size > 1000


def test_plot_draws_the_figures_each_run_has(tmp_path):
    def width(png) -> int:
        return int.from_bytes(png.read_bytes()[16:20], "big")  # the PNG header's IHDR width

    (tmp_path / "mlm").mkdir()
    (tmp_path / "clm").mkdir()
    write(tmp_path / "mlm", [1, 2])
    assert width(plot_run(tmp_path / "mlm")) == 1100  # loss; MLM and NSP accuracy together
    log = MetricsLog(tmp_path / "clm")
    for step in (1, 2):
        figures = {"loss": 5.0 / step, "next_token_acc": 0.1 * step, "perplexity": 150.0 / step}
        log.write({"step": step, "split": "train", **figures, "lr": 1e-3, "tokens_per_s": 10.0})
    log.write({"step": 2, "split": "heldout", "loss": 3.0, "next_token_acc": 0.15, "perplexity": 20.0})
    log.close()
    assert width(plot_run(tmp_path / "clm")) == 1650  # loss, next-token accuracy, perplexity


def test_plot_cli_errors(tmp_path, capsys, monkeypatch):
    from bertkit.cli import main

    assert main(["plot", str(tmp_path)]) == 2
    assert f"bertkit: error: {tmp_path / 'metrics.jsonl'}: no metrics file" in capsys.readouterr().err
    write(tmp_path, [1])
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # the optional extra not installed
    assert main(["plot", str(tmp_path)]) == 2
    assert "bertkit plot needs matplotlib: pip install 'bertkit[plot]'" in capsys.readouterr().err


def test_training_seconds_add_up_the_logging_windows_and_skip_evaluation():
    records = [
        {"step": 10, "split": "train", "tokens_seen": 1000, "tokens_per_s": 500.0},  # 2 s
        {"step": 20, "split": "train", "tokens_seen": 4000, "tokens_per_s": 1000.0},  # 3 s
        {"step": 20, "split": "heldout"},
        {"step": 30, "split": "train", "tokens_seen": 5000, "tokens_per_s": 250.0},  # 4 s
    ]
    assert training_seconds(records) == [2.0, 5.0, 5.0, 9.0]
    assert training_seconds([]) == []
