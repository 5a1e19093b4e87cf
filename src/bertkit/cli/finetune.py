"""Commands for labelled tasks: fine-tune a BERT on a task file, evaluate a fine-tuned model, predict with it."""

import argparse
import dataclasses


def add_finetune(sub) -> None:
    from bertkit.cli.flags import add_config_flags
    from bertkit.train.config import FinetuneConfig

    p = sub.add_parser(
        "finetune",
        help="fine-tune a BERT on a labelled file (classify, regress, choice, tag, qa); works under torchrun",
        description="Trains the task's head and its BERT from any BERT directory (--model: a pre-training "
        "run's final/, a Hugging Face checkpoint, an earlier fine-tuned run), validates each epoch on "
        "--validation with the task's metrics, logs RUN_DIR/metrics.jsonl, checkpoints, and exports "
        "RUN_DIR/final in Hugging Face's layout (see docs/finetuning.md). Every setting is a flag or a key "
        "of the --config TOML file (same name, underscores); flags override the file.",
    )
    add_config_flags(p, FinetuneConfig)
    p.set_defaults(func=_finetune)


def _finetune(args: argparse.Namespace) -> None:
    from bertkit.cli.flags import config_settings
    from bertkit.train.finetuning import finetune

    final = finetune(args.config, **config_settings(args))
    if final is not None:  # None in torchrun's other processes: rank 0 reports
        print(f"{final}: the fine-tuned model")


def _add_reading(p: argparse.ArgumentParser) -> None:
    """The fine-tuned model, its task, and how a task file is read (ReadingOptions' fields, as `finetune` takes
    them); those not given are the ones the model was fine-tuned with (kept in its config.json), else the usual
    defaults."""
    from bertkit.cli.flags import add_field_flags, add_model_flag
    from bertkit.tasks.examples import TASKS
    from bertkit.tasks.settings import ReadingOptions

    add_model_flag(p, "fine-tuned for a task (e.g. RUN/final)", dtype=False)
    p.add_argument(
        "--task",
        metavar="TASK",
        help=f"{', '.join(TASKS)} (default: the one the model was fine-tuned for)",
    )
    add_field_flags(p, ReadingOptions)
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="examples per batch (default: 64)")


def _reading(args: argparse.Namespace) -> dict:
    """ReadingOptions' fields as given, and the batch size."""
    from bertkit.tasks.settings import ReadingOptions

    names = [field.name for field in dataclasses.fields(ReadingOptions)] + ["batch_size"]
    return {name: getattr(args, name) for name in names}


def add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="a fine-tuned model's task metrics on a labelled file",
        description="classify: accuracy, macro_f1, mcc; regress: pearson, spearman, mse; choice: accuracy; "
        "tag: entity precision, recall, f1 (seqeval) and token accuracy; qa: exact, f1 (SQuAD's "
        "scripts; v2 adds has/no-answer figures); plus examples.",
    )
    _add_reading(p)
    p.add_argument("--data", required=True, metavar="FILE", help="the labelled task file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> None:
    import math

    from bertkit.cli.flags import print_json
    from bertkit.tasks.predict import evaluate

    metrics = evaluate(args.model, args.task, args.data, **_reading(args))
    if args.json:  # JSON has no NaN (a correlation of a constant prediction): null
        print_json({k: None if isinstance(v, float) and math.isnan(v) else v for k, v in metrics.items()})
        return
    for name, value in metrics.items():
        print(f"{name}: {value:.4f}" if isinstance(value, float) else f"{name}: {value}")


def add_predict(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="a fine-tuned model's prediction for every example of a file, as JSON lines",
        description='One JSON line per input example, in input order: classify {"label", "score"}; '
        'regress {"score"}; choice {"label", "scores"}; tag {"tokens", "tags"}; '
        'qa {"id", "answer", "start", "score"}.',
    )
    _add_reading(p)
    p.add_argument("--input", required=True, metavar="FILE", help="the task file (labels not needed)")
    p.add_argument("--output", required=True, metavar="JSONL", help="where the predictions go")
    p.set_defaults(func=_predict)


def _predict(args: argparse.Namespace) -> None:
    from bertkit.tasks.predict import predict

    records = predict(args.model, args.task, args.input, args.output, **_reading(args))
    print(f"{args.output}: {len(records)} predictions")


COMMANDS = [add_finetune, add_evaluate, add_predict]
