"""The explorer page in a real browser: Debian's Chromium, headless, driven by Selenium through
Debian's chromedriver, so nothing is downloaded at test time. Screenshots go to $ARCHCLASS_ARTIFACTS
(or a temporary folder, printed)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from archclass.registry import load_registry, registry_from_text
from archclass.render import render

from .conftest import ROOT
from .test_site import HOSTILE_NAME, hostile_registry_text

pytestmark = pytest.mark.slow

PAGE = ROOT / "taxonomy" / "index.html"
VISIBLE_POINTS = (
    "return [...document.querySelectorAll('#plot g.point')]"
    ".filter(g => g.getBoundingClientRect().width > 0).map(g => g.dataset.id)"
)
VISIBLE_ROWS = (
    "return [...document.querySelectorAll('#entries tbody tr')].filter(tr => !tr.hidden).map(tr => tr.dataset.id)"
)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("ARCHCLASS_ARTIFACTS") or tmp_path_factory.mktemp("browser-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots in {folder}")
    return folder


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="the browser tests need selenium: pip install 'archclass[browser]'"
    )
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.skip("the browser tests need Chromium and its driver: apt-get install chromium chromium-driver")
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never fetch a driver or browser
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()


def open_page(browser, path: Path) -> None:
    browser.get(path.resolve().as_uri())
    browser.get_log("browser")  # start each test with an empty console


def console_errors(browser) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def hover(browser, entry_id: str):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    point = browser.find_element(By.CSS_SELECTOR, f'#plot g.point[data-id="{entry_id}"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
    ActionChains(browser).move_to_element(point).perform()
    tooltip = browser.find_element(By.ID, "tooltip")
    deadline = time.monotonic() + 5
    while not tooltip.is_displayed() and time.monotonic() < deadline:
        time.sleep(0.05)
    return tooltip


def test_the_page_shows_one_point_per_entry_without_console_errors(browser, artifacts):
    open_page(browser, PAGE)
    ids = sorted(entry.id for entry in load_registry())
    assert sorted(browser.execute_script(VISIBLE_POINTS)) == ids
    assert sorted(browser.execute_script(VISIBLE_ROWS)) == ids
    assert console_errors(browser) == []
    browser.save_screenshot(str(artifacts / "explorer.png"))


@pytest.mark.parametrize("entry_id", ["mamba", "jamba", "hyena"])
def test_hovering_a_point_shows_its_rules_and_evidence(browser, artifacts, entry_id):
    open_page(browser, PAGE)
    entry = load_registry().get(entry_id)
    tooltip = hover(browser, entry_id)
    assert tooltip.is_displayed()
    text = " ".join(tooltip.text.split())
    assert entry.name in text and str(entry.year) in text
    assert " ".join(entry.evidence.split()) in text
    assert "RULES THAT FIRED" in text.upper()
    assert console_errors(browser) == []
    browser.save_screenshot(str(artifacts / f"hover-{entry_id}.png"))


def test_hovering_a_hybrid_draws_its_composition(browser):
    from selenium.webdriver.common.by import By

    open_page(browser, PAGE)
    hover(browser, "jamba")
    labels = [element.text for element in browser.find_elements(By.CSS_SELECTOR, "#shares text")]
    assert labels == ["7/8 mamba", "1/8 gqa"]
    related = browser.find_elements(By.CSS_SELECTOR, "#plot g.composition.related")
    assert [group.get_attribute("data-hybrid") for group in related] == ["jamba"]


def test_filtering_by_family_hides_the_others(browser, artifacts):
    from selenium.webdriver.common.by import By

    open_page(browser, PAGE)
    for box in browser.find_elements(By.CSS_SELECTOR, 'input[name="family"]'):
        if box.get_attribute("value") != "ssm":
            box.click()
    ssm = sorted(entry.id for entry in load_registry() if entry.family == "ssm")
    assert sorted(browser.execute_script(VISIBLE_POINTS)) == ssm
    assert sorted(browser.execute_script(VISIBLE_ROWS)) == ssm
    assert browser.find_element(By.ID, "status").text == f"{len(ssm)} of {len(load_registry())} architectures shown"
    browser.save_screenshot(str(artifacts / "filtered-ssm.png"))
    browser.find_element(By.CSS_SELECTOR, 'button[type="reset"]').click()
    # The page redraws after the form's reset has run (a reset event comes before the values change),
    # so the points come back a moment after the click returns.
    from selenium.webdriver.support.ui import WebDriverWait

    everything = len(load_registry())
    WebDriverWait(browser, 5).until(lambda page: len(page.execute_script(VISIBLE_POINTS)) == everything)


def test_search_and_years_narrow_the_plot_and_the_table(browser):
    from selenium.webdriver.common.by import By

    open_page(browser, PAGE)
    browser.find_element(By.ID, "search").send_keys("mamba")
    searched = [" ".join([e.id, e.name, e.summary, *e.aliases, *e.tags]).lower() for e in load_registry()]
    expected = sorted(e.id for e, text in zip(load_registry(), searched, strict=True) if "mamba" in text)
    assert "mamba" in expected and "transformer" not in expected
    assert sorted(browser.execute_script(VISIBLE_POINTS)) == expected
    browser.find_element(By.CSS_SELECTOR, 'button[type="reset"]').click()
    for field, year in (("year-from", "2024"), ("year-to", "2024")):
        element = browser.find_element(By.ID, field)
        element.clear()
        element.send_keys(year)
    in_2024 = sorted(entry.id for entry in load_registry() if entry.year == 2024)
    assert sorted(browser.execute_script(VISIBLE_POINTS)) == in_2024
    assert sorted(browser.execute_script(VISIBLE_ROWS)) == in_2024


def test_hostile_registry_text_is_shown_and_never_run(browser, artifacts, tmp_path):
    render(registry_from_text(hostile_registry_text()), tmp_path, figure=False)
    open_page(browser, tmp_path / "index.html")
    tooltip = hover(browser, "alpha")
    assert tooltip.text.splitlines()[1] == HOSTILE_NAME
    assert browser.execute_script("return window.pwned === undefined")
    assert console_errors(browser) == []
    browser.save_screenshot(str(artifacts / "hostile.png"))
