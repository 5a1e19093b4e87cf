"""The main job (`make demo`, `bertkit demo`): a cloze model and a poem language model of the Tang poems."""

from bertkit.demo.cloze import CLOZE_LINES, NSP_PAIRS
from bertkit.demo.run import run_demo

__all__ = ["CLOZE_LINES", "NSP_PAIRS", "run_demo"]
