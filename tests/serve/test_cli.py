import os
import socket
import subprocess
import sys
import time

import httpx

from bertkit.cli import main


def test_serve_help_names_the_api(capsys):
    try:
        main(["serve", "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out
    assert "--model DIR" in out and "/api/fill-mask" in out and "127.0.0.1" in out


def test_a_missing_model_directory_is_one_line_before_any_server_starts(tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bertkit: error: ") and "missing" in err and len(err.strip().splitlines()) == 1


def test_an_lm_without_a_causal_head_is_refused(mlm_dir, capsys):
    assert main(["serve", "--model", str(mlm_dir), "--lm", str(mlm_dir)]) == 2
    assert "has no causal language-model head" in capsys.readouterr().err


def test_a_bad_queue_limit_is_named_as_its_flag(mlm_dir, capsys):
    assert main(["serve", "--model", str(mlm_dir), "--max-queue", "0"]) == 2
    assert "--max-queue must be a positive integer, got 0" in capsys.readouterr().err


def test_the_command_serves_the_page_and_the_api_on_loopback(mlm_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "bertkit", "serve", "--model", str(mlm_dir), "--port", str(port)]
    server = subprocess.Popen(
        command, env=dict(os.environ, OMP_NUM_THREADS="1"), stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert health.json()["model"]["architecture"] == "BertForMaskedLM"
        assert "bertkit explorer" in httpx.get(f"http://127.0.0.1:{port}/").text
        answer = httpx.post(f"http://127.0.0.1:{port}/api/fill-mask", json={"text": "床[MASK]"}).json()
        assert answer["masks"][0][0]["token_str"] == "月"
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out
