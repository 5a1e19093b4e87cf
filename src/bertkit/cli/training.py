"""Commands that train: pre-train, draw a run's curves, the demo (the main job)."""

import argparse


def add_pretrain(sub) -> None:
    import dataclasses
    import typing

    from bertkit.train.config import PretrainConfig

    p = sub.add_parser(
        "pretrain",
        help="pre-train BERT on prepared data (MLM + NSP, or --objective clm: a causal LM); works under torchrun",
        description="Trains, logs RUN_DIR/metrics.jsonl, checkpoints RUN_DIR/checkpoints/step-N "
        "and exports RUN_DIR/final (see docs/training.md). Every setting is a flag or a key of the "
        "--config TOML file (same name, underscores); flags override the file.",
    )
    p.add_argument("--config", metavar="TOML", help="run settings file; flags given here override it")
    hints = typing.get_type_hints(PretrainConfig)
    # One flag per PretrainConfig field; SUPPRESS leaves unset flags out, so the TOML value or default stands.
    for field in dataclasses.fields(PretrainConfig):
        flag = "--" + field.name.replace("_", "-")
        kinds = typing.get_args(hints[field.name]) or (hints[field.name],)
        if bool in kinds:
            p.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=f"(default: {field.default})",
            )
        else:
            p.add_argument(
                flag,
                type=kinds[0],
                default=argparse.SUPPRESS,
                metavar=field.name.upper(),
                help=f"(default: {field.default!r})",
            )
    p.set_defaults(func=_pretrain)


def _pretrain(args: argparse.Namespace) -> None:
    from bertkit.train.config import PretrainConfig
    from bertkit.train.loop import pretrain

    flags = {k: v for k, v in vars(args).items() if k not in ("command", "func", "config")}
    final = pretrain(PretrainConfig.from_toml(args.config, **flags))
    if final is not None:  # None in torchrun's other processes: rank 0 reports
        print(f"{final}: the pre-trained model")


def add_plot(sub) -> None:
    p = sub.add_parser("plot", help="draw a run's loss and accuracy curves to a PNG (needs bertkit[plot])")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a `bertkit pretrain` --out directory")
    p.add_argument("--out", metavar="PNG", help="output image (default: RUN_DIR/loss.png)")
    p.set_defaults(func=_plot)


def _plot(args: argparse.Namespace) -> None:
    from bertkit.train.plot import plot_run

    print(plot_run(args.run_dir, args.out))


def add_demo(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job: pre-train BERT on the Tang poems, then fill in masked characters",
        description="Learns a vocabulary from the corpus, prepares it, pre-trains a tiny BERT on the "
        "CPU (resumable: rerun after an interruption), then shows fill-mask and next-sentence "
        "predictions and draws the loss curves.",
    )
    p.add_argument("--corpus", default="data/tang300.txt", help="training text (default: data/tang300.txt)")
    p.add_argument("--out", default="runs/demo", metavar="DIR", help="where every stage's output goes")
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        metavar="S",
        help="pre-training steps (default: the demo's own, a few minutes on 2 cores)",
    )
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> None:
    from bertkit.demo import run_demo

    steps = {} if args.max_steps is None else {"max_steps": args.max_steps}
    run_demo(args.corpus, args.out, **steps)


COMMANDS = [add_pretrain, add_plot, add_demo]
