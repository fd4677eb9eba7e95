"""A real browser for the pages we serve: Debian's chromium, headless, driven through its chromedriver.

`make browser` (part of `make test`) installs both; CHROMIUM and CHROMEDRIVER name other binaries. A test
takes the `browser` fixture (tests/e2e/conftest.py): when it fails, a screenshot and the page's HTML are
kept under build/test-artifacts/ and their paths printed with the failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
WINDOW_SIZE = "1280,1000"
PAGE_LOAD_SECONDS = 60.0  # a first request may start a Lambda worker on a loaded two-core machine


def _binary(variable: str, default: str) -> str:
    path = os.environ.get(variable, default)
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"{variable}={path} is not an executable: run `make browser` (installs Debian's "
            f"chromium and chromium-driver) or set {variable}"
        )
    return path


@contextmanager
def chrome(download_dir: Path) -> Iterator[WebDriver]:
    """A headless chromium whose downloads land in `download_dir`, closed afterwards."""
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("CHROMIUM", "/usr/bin/chromium")
    for argument in (
        "--headless=new",
        f"--window-size={WINDOW_SIZE}",
        "--no-sandbox",  # CI runs as root, where chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    # An explicit chromedriver: selenium's manager would otherwise try to download one.
    service = Service(executable_path=_binary("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
    # Headless chromium ignores the download preference unless told through DevTools.
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)}
    )
    try:
        yield driver
    finally:
        driver.quit()


def save_artifacts(driver: WebDriver, test_id: str) -> list[Path]:
    """A screenshot and the HTML of the page `driver` shows, named after the test; their paths."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_id)[-150:]
    screenshot = ARTIFACTS_DIR / f"{stem}.png"
    html = ARTIFACTS_DIR / f"{stem}.html"
    driver.save_screenshot(str(screenshot))
    html.write_text(driver.page_source, encoding="utf-8")
    return [screenshot, html]
