"""The explorer page in a real headless browser (Debian's chromium driven by Playwright): type a masked line
and see the predictions, switch the attention head and see the heatmap change, compare words, recite a poem;
see a line's tokens shaded by their probability with their alternatives, and recite step by step."""

import math
import os
import shutil
import subprocess

import pytest

from bertkit import pipeline
from bertkit.serve import ServeConfig, create_app

POEM = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
INSTALL = "apt-get install -y chromium fonts-noto-cjk"


def find_chromium() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed here when we are root with apt (Playwright's own browser download needs
    the internet); otherwise the test is skipped, saying what to install."""
    path = find_chromium()
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:  # a few minutes at most: the suite must stay short where the package mirror is slow or absent
            for command in ("apt-get update -q", INSTALL + " -q"):
                subprocess.run(command.split(), env=env, capture_output=True, timeout=240, check=False)
        except subprocess.TimeoutExpired:
            pass
        path = find_chromium()
    if path is None:
        pytest.skip(
            f"no chromium to test the page in; install it: {INSTALL} (Debian) and pip install playwright"
        )
    return path


@pytest.fixture(scope="module")
def browser(chromium):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


def watched_page(browser, height: int):
    """A new page 1000 pixels wide, and the list its uncaught script errors go to (a test asserts it empty)."""
    page = browser.new_page(viewport={"width": 1000, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    return page, errors


def test_the_page_fills_masks_draws_attention_and_recites(browser, mlm_dir, poet_dir, run_server, tmp_path):
    app = create_app(ServeConfig(model=str(mlm_dir), lm=str(poet_dir)))
    with run_server(app) as url:
        page, errors = watched_page(browser, height=1800)
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]")
        assert "BertForMaskedLM: 2 layers, 2 heads" in page.text_content("#model-info")
        assert page.is_hidden("#classify-section") and page.is_visible("#recite-section")

        # type a masked line: its tokens and the predictions for its [MASK] appear
        page.fill("#text", "")
        page.type("#text", "举头望明[MASK]，低头思故乡。")
        page.wait_for_function("document.querySelector('#tokens').textContent.includes('思')")
        tokens = page.locator("#tokens .token .piece").all_text_contents()
        assert tokens[:6] == ["[CLS]", "举", "头", "望", "明", "[MASK]"]
        page.wait_for_selector("#predictions .candidate")
        first = page.locator("#predictions .mask-column").first.locator(".candidate .piece").first
        assert first.text_content() == "月"

        # switch the attention head: the heatmap is redrawn from that head's weights
        page.wait_for_function("document.querySelector('#attention').dataset.head === '0'")
        before = page.eval_on_selector("#attention", "c => c.toDataURL()")
        page.select_option("#head", "1")
        page.wait_for_function("document.querySelector('#attention').dataset.head === '1'")
        after = page.eval_on_selector("#attention", "c => c.toDataURL()")
        assert after != before
        page.select_option("#layer", "1")
        page.wait_for_function("document.querySelector('#attention').dataset.layer === '1'")
        assert page.eval_on_selector("#attention", "c => c.toDataURL()") not in (before, after)

        # the similarity matrix of the default words, with 1.00 on its diagonal
        page.wait_for_selector("#similarity td")
        assert page.locator("#similarity tr").count() == 6
        assert page.locator("#similarity tr").nth(1).locator("td").first.text_content() == "1.00"
        assert page.text_content("#similarity-pieces") == "Not single tokens: 山 → [UNK]; 水 → [UNK]"

        # the poem model recites from two characters
        page.fill("#prompt", "床前")
        page.click("#recite")
        page.wait_for_function(f"document.querySelector('#recital').textContent === '{POEM}'")

        # a bad input shows the server's message on the page, and the page keeps working
        page.fill("#prompt", "龘龘")
        page.click("#recite")
        page.wait_for_function("document.querySelector('#recite-error').textContent.includes('[UNK]')")
        page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
        assert errors == []


def test_the_page_shades_tokens_by_probability_and_recites_step_by_step(
    browser, mlm_dir, poet_dir, run_server, tmp_path
):
    app = create_app(ServeConfig(model=str(mlm_dir), lm=str(poet_dir)))
    line = "床前月明光"  # 明 and 月 swapped: the poet did not expect 月 third
    record = pipeline("text-scoring", model=poet_dir, top_k_alternatives=5)(line)
    with run_server(app) as url:
        page, errors = watched_page(browser, height=1400)
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]")
        assert page.locator("#score-model option").all_text_contents() == [
            "causal LM (--lm)",
            "cloze model (--model)",
        ]

        # type a line: its tokens appear, each shaded by its probability under the causal LM
        page.fill("#score-text", "")
        page.type("#score-text", line)
        tokens = page.locator("#score-tokens .token")
        page.wait_for_function(
            "[...document.querySelectorAll('#score-tokens .piece')].map(p => p.textContent).join('') === "
            f"'{line}[SEP]'"
        )
        probabilities = [float(p) for p in tokens.evaluate_all("ts => ts.map(t => t.dataset.probability)")]
        assert probabilities == pytest.approx([math.exp(x) for x in record["token_log_probs"]], abs=1e-6)
        shades = tokens.evaluate_all("ts => ts.map(t => getComputedStyle(t).backgroundColor)")
        likeliest, unlikeliest = (
            probabilities.index(max(probabilities)),
            probabilities.index(min(probabilities)),
        )
        assert unlikeliest == 2 and shades[likeliest] != shades[unlikeliest]
        assert page.text_content("#score-summary").startswith(f"log P = {record['log_prob']:.2f}")

        # pointing at a token shows what the model would put in its place; a click keeps it shown
        tokens.nth(2).hover()
        page.wait_for_selector("#score-alternatives[data-token='2']")
        shown = page.locator("#score-alternatives .candidate .piece").all_text_contents()
        assert shown == [a["token_str"] for a in record["alternatives"][2]] and shown[0] == "明"
        tokens.nth(2).click()
        tokens.nth(4).hover()
        page.wait_for_selector("#score-alternatives[data-token='4']")
        page.hover("#score-summary")
        page.wait_for_selector("#score-alternatives[data-token='2']")
        assert page.locator("#score-tokens .selected .piece").text_content() == "月"

        # the cloze model instead: the pseudo-log-likelihood, and its head prefers 月 everywhere
        page.select_option("#score-model", "cloze")
        page.wait_for_function("document.querySelector('#score-summary').textContent.startsWith('PLL')")
        tokens.nth(0).hover()
        page.wait_for_selector("#score-alternatives[data-token='0']")
        assert page.locator("#score-alternatives .candidate .piece").first.text_content() == "月"
        page.locator("#score-section").screenshot(path=str(tmp_path / "probabilities.png"))

        # step by step from 床前: the candidates at each step, the likeliest taken
        page.fill("#prompt", "床前")
        page.click("#step")
        page.wait_for_selector("#steps .mask-column")
        candidates = pipeline("next-token", model=poet_dir, top_k=5)("床前")
        first = page.locator("#steps .mask-column").first
        assert first.locator(".piece").all_text_contents() == [c["token_str"] for c in candidates]
        assert first.locator(".score").first.text_content() == f"{candidates[0]['score']:.3f}"
        assert first.locator(".chosen .piece").text_content() == "明"
        assert page.text_content("#stepped") == "床前明"
        page.click("#step")
        page.wait_for_function("document.querySelector('#stepped').textContent === '床前明月'")
        assert page.locator("#steps .mask-column").count() == 2
        # choosing another candidate at step 1 drops the steps after it
        other = candidates[1]["token_str"]
        first.locator(".candidate").nth(1).click()
        assert page.text_content("#stepped") == "床前" + other
        assert page.locator("#steps .mask-column").count() == 1
        page.locator("#recite-section").screenshot(path=str(tmp_path / "steps.png"))
        assert errors == []


def test_the_page_links_to_the_tutorial_and_speaks_chinese_with_lang_zh(
    browser, mlm_dir, poet_dir, run_server, tmp_path
):
    app = create_app(ServeConfig(model=str(mlm_dir), lm=str(poet_dir)))
    with run_server(app) as url:
        page, errors = watched_page(browser, height=1800)

        # in English: a link to the guide, and one to the Chinese page
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]")
        assert page.get_attribute("#guide", "href") == "/tutorial"
        assert page.text_content("#lang-switch") == "中文"
        assert page.text_content("#text-section h2") == "Text"

        page.click("#lang-switch")
        page.wait_for_selector("body[data-ready=true]")
        assert page.url.endswith("/?lang=zh")
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert page.title() == "bertkit 模型浏览器"
        headings = page.locator("main h2:visible").all_text_contents()
        assert headings == ["文本", "填空", "概率", "自注意力", "相似度", "背诗"]
        assert page.text_content("#model-info").startswith("BertForMaskedLM：2 层，2 个头")
        assert (
            page.text_content("#analyse") == "分析"
            and page.text_content("#text-section h3") == "WordPiece 词元"
        )
        assert page.locator("#score-model option").all_text_contents() == [
            "因果语言模型（--lm）",
            "填空模型（--model）",
        ]
        # what the page writes as it goes is Chinese too; the numbers and the model's tokens stay as they are
        page.wait_for_function("document.querySelector('#score-summary').textContent.includes('困惑度')")
        assert page.text_content("#score-summary").startswith("log P = ")
        page.wait_for_selector("#similarity td")
        assert page.text_content("#similarity-pieces") == "不是单个词元：山 → [UNK]；水 → [UNK]"
        page.fill("#text", "床前明月光")
        page.wait_for_function("document.querySelector('#predictions').textContent === '文本里没有 [MASK]。'")
        page.fill("#prompt", "床前")
        page.click("#step")
        page.wait_for_selector("#steps .mask-column")
        assert page.text_content("#steps h3") == "第 1 步"
        page.screenshot(path=str(tmp_path / "explorer-zh.png"), full_page=True)

        # the guide the page links to, in the page's language; the English link from the Chinese page
        assert page.get_attribute("#guide", "href") == "/tutorial?lang=zh"
        assert page.get_attribute("#lang-switch", "href") == "?"
        guide = page.request.get(url + "/tutorial?lang=zh")
        assert guide.ok and guide.text().startswith("# 用 bertkit 一步步看懂 BERT")
        assert page.request.get(url + "/tutorial").text().startswith("# BERT step by step, with bertkit")
        assert errors == []
