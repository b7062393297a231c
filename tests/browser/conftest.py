"""The dashboard in a real headless Chromium: Debian's ``chromium`` driven through its ``chromedriver`` by Selenium.

Nothing is downloaded: Selenium is pointed at the two executables the set-up installs (``apt-get install chromium
chromium-driver``), so its driver manager never runs. Every test gets a fresh browser and a ``Pages`` helper that
saves a screenshot at each step it names and one of the last page at the end, pass or fail, under the test's own
output folder (pytest's ``tmp_path``): a failure shows what the page looked like.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import RunningSystem, running_system

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 800)
PHONE = (390, 844)
WAIT_SECONDS = 60  # a page waits on the API, which may wait on the pipeline


def chromium(size: tuple[int, int]) -> WebDriver:
    for executable in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(executable) is None:
            pytest.fail(f"{executable} is missing: run 'apt-get install chromium chromium-driver' (the set-up does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(argument)
    if size[0] < 500:
        # A window is never narrower than 500px (Chromium's minimum); a phone's screen is emulated instead.
        metrics = {"width": size[0], "height": size[1], "pixelRatio": 1, "mobile": True, "touch": True}
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


@dataclass
class Pages:
    """The browser on one running system, with the steps a test takes on the dashboard."""

    driver: WebDriver
    base_url: str
    screenshots: Path
    taken: list[Path] = field(default_factory=list)

    def open(self, route: str = "") -> None:
        self.driver.get(f"{self.base_url}/ui/{route}")

    def shot(self, name: str) -> Path:
        path = self.screenshots / f"{len(self.taken):02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.taken.append(path)
        return path

    def wait_for(self, css: str, what: str = "", until: Callable[[WebElement], bool] = lambda _: True) -> WebElement:
        def found(driver: WebDriver) -> WebElement | bool:
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                if element.is_displayed() and until(element):
                    return element
            return False

        element = self.until(found, what or css)
        assert isinstance(element, WebElement)
        return element

    def until(self, check: Callable[[WebDriver], T | Literal[False] | None], what: str) -> T:
        """``check``'s first truthy answer. A page redraws itself when its data arrives, so an element found a
        moment ago may be gone (stale): that is asked again, not a failure."""
        waiting = WebDriverWait(self.driver, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,))
        try:
            return waiting.until(lambda driver: check(driver) or False)
        except TimeoutException:
            self.shot("timed-out")
            raise AssertionError(f"no {what} on the page within {WAIT_SECONDS}s") from None

    def text_of(self, css: str) -> str:
        return self.wait_for(css).text

    def sign_in(self, key: str, user: str | None = None) -> None:
        self.open()
        self.wait_for("#api-key").send_keys(key)
        if user is not None:
            self.driver.find_element(By.ID, "user-id").send_keys(user)
        self.driver.find_element(By.CSS_SELECTOR, "#signin button[type=submit]").click()


@pytest.fixture(scope="module")
def system(stack_settings: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(stack_settings, tmp_path_factory.mktemp("logs")) as running:  # type: ignore[arg-type]
        yield running


def browse(system: RunningSystem, tmp_path: Path, size: tuple[int, int]) -> Iterator[Pages]:
    driver = chromium(size)
    pages = Pages(driver, system.system.base_url, tmp_path)
    try:
        yield pages
    finally:
        pages.shot("last-page")  # pass or fail: what the page looked like at the end
        print(f"screenshots: {tmp_path}")
        driver.quit()


@pytest.fixture
def pages(system: RunningSystem, tmp_path: Path) -> Iterator[Pages]:
    yield from browse(system, tmp_path, DESKTOP)


@pytest.fixture
def phone(system: RunningSystem, tmp_path: Path) -> Iterator[Pages]:
    yield from browse(system, tmp_path, PHONE)
