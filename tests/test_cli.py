"""The command line: its help speaks to users, and library errors come out naming its flags."""

import dataclasses
import subprocess
import sys

from bertkit.cli import as_flags, build_parser, main
from bertkit.tasks.settings import MAX_LENGTH, ReadingOptions


def test_help_describes_the_tool_for_users():
    help_text = build_parser().format_help()
    assert "learn a WordPiece vocabulary" in help_text
    assert "argument parsing" not in help_text  # the module docstring is for developers


def test_parameter_names_become_the_commands_flags():
    pretrain = build_parser()._subparsers._group_actions[0].choices["pretrain"]
    message = "`batch_size` must be a positive integer; lower `lr` (see `bertkit prepare`, `not_a_flag`)"
    assert as_flags(message, pretrain) == (
        "--batch-size must be a positive integer; lower --lr (see `bertkit prepare`, `not_a_flag`)"
    )


def test_a_bad_flag_value_is_one_line_naming_the_flag(tmp_path, capsys):
    assert (
        main(["pretrain", "--data", "d", "--tokenizer", "./t", "--out", str(tmp_path), "--batch-size", "0"])
        == 2
    )
    assert capsys.readouterr().err == "bertkit: error: --batch-size must be a positive integer, got 0\n"
    assert (
        main(
            [
                "prepare",
                "--input",
                "x.txt",
                "--tokenizer",
                "./t",
                "--out",
                str(tmp_path),
                "--heldout-fraction",
                "2",
            ]
        )
        == 2
    )
    assert capsys.readouterr().err.startswith("bertkit: error: --heldout-fraction must be a number in [0, 1)")


def test_python_m_bertkit_help():
    result = subprocess.run(
        [sys.executable, "-m", "bertkit", "--help"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("usage: bertkit")


def test_shared_flags_are_declared_once_from_the_library():
    commands = build_parser()._subparsers._group_actions[0].choices
    reading = {field.name for field in dataclasses.fields(ReadingOptions)}
    for name in ("evaluate", "predict"):  # the reading options' flags are their fields
        actions = {a.dest: a for a in commands[name]._actions}
        assert reading <= set(actions) and {"model", "revision", "batch_size"} <= set(actions)
        assert f"else {MAX_LENGTH})" in actions["max_length"].help
    # Every model a command reads is described alike (finetune's flags are its FinetuneConfig's fields).
    helps = {a.help for n, c in commands.items() if n != "finetune" for a in c._actions if a.dest == "model"}
    assert all(
        h.startswith("a model directory (config.json, weights, vocab.txt or tokenizer.json)") for h in helps
    )
