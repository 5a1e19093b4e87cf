"""What the demo prints, in English or Chinese: the tutorial's readers, who read Chinese, follow the demo's
report in their language (`bertkit demo --lang zh`; by default the locale's)."""

from __future__ import annotations

import os

LANGUAGES = ("en", "zh")

MESSAGES = {
    "en": {
        "vocabulary": "1/5 learning a WordPiece vocabulary from {corpus}",
        "prepare": "2/5 preparing the poems' text into {cloze} (cloze) and {lm} (language model)",
        "cloze_model": "cloze model (masked LM + next sentence)",
        "lm_model": "poem language model (causal)",
        "reuse": "{step} using the {what} already trained in {final} (delete it to train again)",
        "train": "{step} training the {what} for {steps} steps (interrupt and rerun to resume)",
        "busy": "    other processes keep cores busy: training on {threads} thread(s), not {default}",
        "learned": "5/5 what the models learned\n",
        "cloze": "Cloze (fill-mask): the model's top 3 for the hidden character, as a whole line and as a fragment",
        "cloze_score": "  first choice right: {whole} of {lines} whole lines, {fragments} fragments",
        "nsp": "\nNext sentence prediction, P(B follows A):",
        "true_next": "true next line",
        "other_line": "line from another poem",
        "couplets": "  every couplet of the corpus: the true next line above a random same-length line of another poem "
        "in {accuracy:.1%} of {couplets} (mean P {p_true:.2f} against {p_other:.2f})",
        "recite": "\nThe language model reciting from two characters (greedy):",
        "exact": "exact",
        "not_exact": "not exact",
        "poet_score": "  {poet}'s poems whose first two characters begin no other poem: {recited} of {poems} "
        "recited exactly (punctuation aside)",
        "all_score": "  every poem of the corpus from its first two characters: {recited} of {poems}\n",
        "curves": "Loss curves: ",
        "pictures": "Pictures: ",
    },
    "zh": {
        "vocabulary": "1/5 从 {corpus} 学习 WordPiece 词表",
        "prepare": "2/5 把诗的正文整理成训练数据：{cloze}（完形填空模型）和 {lm}（语言模型）",
        "cloze_model": "完形填空模型（掩蔽语言模型 + 下一句预测）",
        "lm_model": "诗歌语言模型（因果，只看左边的字）",
        "reuse": "{step} 使用 {final} 里已经训练好的{what}（删掉它就会重新训练）",
        "train": "{step} 训练{what}，共 {steps} 步（可以随时中断，再次运行会接着训练）",
        "busy": "    其他进程正占着 CPU 核：改用 {threads} 个线程训练，而不是 {default} 个",
        "learned": "5/5 模型学会了什么\n",
        "cloze": "完形填空（fill-mask）：被遮住的字，模型给出的前 3 个候选；左边是整句，右边是片段",
        "cloze_score": "  第一候选就对的：整句 {whole}/{lines}，片段 {fragments}/{lines}",
        "nsp": "\n下一句预测，P(B 是 A 的下一句)：",
        "true_next": "真正的下一句",
        "other_line": "别的诗里的句子",
        "couplets": "  语料里的每一联：真正的下一句比别的诗里等长的句子得分高，占 {accuracy:.1%}"
        "（共 {couplets} 联；平均 P {p_true:.2f}，对照 {p_other:.2f}）",
        "recite": "\n语言模型只凭开头两个字背诗（贪心解码）：",
        "exact": "一字不差",
        "not_exact": "有出入",
        "poet_score": "  {poet}的诗里，开头两个字不和别的诗重复的 {poems} 首，一字不差背出 {recited} 首（不计标点）",
        "all_score": "  语料里的全部诗凭开头两个字：{poems} 首背出 {recited} 首\n",
        "curves": "损失曲线：",
        "pictures": "图片：",
    },
}


def default_language() -> str:
    """Chinese where the locale is Chinese (zh_CN.UTF-8, zh_TW, ...), English elsewhere."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def say(lang: str, key: str, **fields) -> str:
    """The message `key` in `lang`, its fields filled in."""
    return MESSAGES[lang][key].format(**fields)
