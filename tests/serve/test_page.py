"""The explorer page in a real headless browser (Debian's chromium driven by Playwright): type a masked line and
see the predictions, switch the attention head and see the heatmap change, compare words, recite a poem."""

import os
import shutil
import subprocess

import pytest

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


def test_the_page_fills_masks_draws_attention_and_recites(browser, mlm_dir, poet_dir, run_server, tmp_path):
    app = create_app(ServeConfig(model=str(mlm_dir), lm=str(poet_dir)))
    with run_server(app) as url:
        page = browser.new_page(viewport={"width": 1000, "height": 1800})
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
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
