"""A real browser for the console's tests: Debian's headless chromium driven by chromedriver
through selenium, and screenshots of what it shows.

Chromium and chromedriver must be installed (`apt-get install chromium chromium-driver`; CI's
`.ci/run` does it): without them the browser tests fail, they never skip. Screenshots go to a
temporary directory, or to `docs/console/` when `PDP_SCREENSHOTS=docs` (to refresh the ones the
README shows).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import PROJECT_ROOT

CHROMIUM = os.environ.get("PDP_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PDP_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS_IN_DOCS = PROJECT_ROOT / "docs" / "console"
WIDTH, HEIGHT = 1280, 900
#: Seconds a page may take to show what a test waits for.
WAIT_SECONDS = 15


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless chromium; the test fails, naming what is missing, if it cannot start."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            pytest.fail(
                f"{path} is missing: install Debian's chromium and chromium-driver "
                "(apt-get install -y chromium chromium-driver)"
            )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={WIDTH},{HEIGHT}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot_directory(temporary: Path) -> Path:
    """Where screenshots go: `docs/console/` when PDP_SCREENSHOTS=docs, else `temporary`."""
    if os.environ.get("PDP_SCREENSHOTS") == "docs":
        SCREENSHOTS_IN_DOCS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS_IN_DOCS
    return temporary


def screenshot(driver: WebDriver, directory: Path, name: str, width: int = WIDTH) -> Path:
    """The whole page at `width` pixels as `<name>.png` (the window is grown to the page's
    height, up to 2400 pixels, then put back)."""
    driver.set_window_size(width, HEIGHT)
    height = driver.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
    )
    driver.set_window_size(width, min(max(int(height), 400), 2400))
    path = directory / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, HEIGHT)
    return path


def wait_for(driver: WebDriver, css: str):
    """The element `css` selects, once it is on the page."""
    return WebDriverWait(driver, WAIT_SECONDS).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def fill(driver: WebDriver, values: dict[str, str]) -> None:
    """Type `values` into the fields with these ids, replacing what they held."""
    for field_id, value in values.items():
        element = driver.find_element(By.ID, field_id)
        element.clear()
        element.send_keys(value)


def no_alert(driver: WebDriver) -> bool:
    """Whether no script has opened an alert."""
    try:
        driver.switch_to.alert  # noqa: B018 - the lookup itself raises when there is none
    except NoAlertPresentException:
        return True
    return False
