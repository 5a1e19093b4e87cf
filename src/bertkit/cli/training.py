"""Commands that train: pre-train, draw a run's curves, the demo (the main job)."""

import argparse


def add_pretrain(sub) -> None:
    from bertkit.cli.flags import add_config_flags
    from bertkit.train.config import PretrainConfig

    p = sub.add_parser(
        "pretrain",
        help="pre-train BERT on prepared data (MLM + NSP, or --objective clm: a causal LM); works under torchrun",
        description="Trains, logs RUN_DIR/metrics.jsonl, checkpoints RUN_DIR/checkpoints/step-N "
        "and exports RUN_DIR/final (see docs/training.md). Every setting is a flag or a key of the "
        "--config TOML file (same name, underscores); flags override the file.",
    )
    add_config_flags(p, PretrainConfig)
    p.set_defaults(func=_pretrain)


def _pretrain(args: argparse.Namespace) -> None:
    from bertkit.cli.flags import config_settings
    from bertkit.train.config import PretrainConfig
    from bertkit.train.loop import pretrain

    final = pretrain(PretrainConfig.from_toml(args.config, **config_settings(args)))
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
    from bertkit.demo.report import LANGUAGES

    p = sub.add_parser(
        "demo",
        help="the main job: a cloze model and a poem language model of the Tang poems, then what they know",
        description="Learns a vocabulary from the corpus, prepares it, pre-trains a tiny BERT (masked language "
        "model + next sentence) and a tiny causal language model on the CPU (resumable: rerun after an "
        "interruption), then shows fill-mask and next-sentence predictions, the language model reciting Li "
        "Bai's poems from their first two characters, and the loss curves.",
    )
    p.add_argument(
        "--corpus",
        default="data/tang300.txt",
        help="poems: a title line, an author line, the poem's lines; a blank line between poems "
        "(default: data/tang300.txt)",
    )
    p.add_argument("--out", default="runs/demo", metavar="DIR", help="where every stage's output goes")
    p.add_argument("--max-steps", type=int, metavar="S", help="the cloze model's steps (default: the demo's)")
    p.add_argument(
        "--lm-steps", type=int, metavar="S", help="the language model's steps (default: the demo's)"
    )
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="threads to train on (default: torch's, fewer while other processes keep cores busy)",
    )
    p.add_argument(
        "--lang",
        choices=LANGUAGES,
        help="the report's language (default: zh where the locale is Chinese, else en)",
    )
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> None:
    from bertkit.demo import run_demo

    given = (
        ("max_steps", args.max_steps),
        ("lm_steps", args.lm_steps),
        ("threads", args.threads),
        ("lang", args.lang),
    )
    run_demo(args.corpus, args.out, **{k: v for k, v in given if v is not None})


COMMANDS = [add_pretrain, add_plot, add_demo]
