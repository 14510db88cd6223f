"""The web pages in a real browser: Debian's Chromium, headless, driven by Selenium, against
``uvicorn`` on a free 127.0.0.1 port.

A question typed into the box comes back as an answer table with sources and the SPARQL it ran,
which opens in the editor and runs there; document text holding ``<script>`` and
``<img onerror>`` is shown as text and never executes (``window.__pwned`` stays undefined), on the
disclosure page and in the editor's result table rendered by JavaScript.

Skips (with the reason) where /usr/bin/chromium or its driver is absent; ``.ci/run`` installs the
Debian packages ``chromium`` and ``chromium-driver``.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.http_support import HOSTILE_PROJECT, LiveServer, prepared_home

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.server,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium "
                                                     "(apt-get install chromium chromium-driver)"),
    pytest.mark.skipif(not CHROMEDRIVER.exists(), reason="chromedriver is not installed "
                                                         "(apt-get install chromium-driver)"),
]


@pytest.fixture(scope="module")
def server():
    home, info = prepared_home()
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    live = LiveServer(home).start(wait_for_index=True)
    yield live, info
    live.stop()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="budgetkg-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1280,1600"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, css: str, timeout: float = 30):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def assert_not_executed(driver):
    from selenium.webdriver.common.by import By

    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert driver.find_elements(By.CSS_SELECTOR, "img[onerror]") == []
    scripts = [s.get_attribute("src") for s in driver.find_elements(By.TAG_NAME, "script")]
    assert all(src and src.endswith("/static/app.js") for src in scripts), scripts


def test_ask_a_question_and_read_the_answer(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    live, _ = server
    browser.get(live.url + "/")
    box = wait_for(browser, "#q")
    box.send_keys("哪些县有医疗救助项目")
    box.send_keys(Keys.ENTER)
    table = wait_for(browser, "#answer-table")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert rows
    cells = [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    assert any("医疗救助" in row[3] for row in cells)
    assert all(row[5] for row in cells)  # every row names its source
    assert {row[0] for row in cells} & {"乐亭县", "霸州市", "大城县", "兴县"}
    assert "SELECT" in browser.find_element(By.ID, "answer-sparql").text
    assert browser.find_elements(By.CSS_SELECTOR, "#search-hits li")

    browser.find_element(By.ID, "open-in-editor").click()
    query = wait_for(browser, "#query")
    assert "SELECT" in query.get_attribute("value")
    browser.find_element(By.ID, "run-query").click()
    wait_for(browser, "#query-results table tbody tr")
    assert "rows in" in browser.find_element(By.ID, "query-status").text
    assert_not_executed(browser)


def test_english_question(server, browser):
    from selenium.webdriver.common.by import By

    live, _ = server
    browser.get(live.url + "/?q=which%20counties%20fund%20long-term%20care%20insurance")
    table = wait_for(browser, "#answer-table")
    assert "乐亭县" in table.text
    assert browser.find_element(By.ID, "answer-summary").text


def test_script_in_document_text_is_shown_as_text(server, browser):
    from selenium.webdriver.common.by import By

    live, info = server
    browser.get(f"{live.url}/disclosures/{info['hostile']}")
    names = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h3.project-name")]
    assert any(HOSTILE_PROJECT in name for name in names), names
    assert "卫生健康支出<b>粗体</b>" in browser.find_element(By.ID, "function-chart").text
    assert "<img src=x onerror=" in browser.find_element(By.CSS_SELECTOR, "table.indicators").text
    assert_not_executed(browser)


def test_sparql_editor_renders_document_text_as_text(server, browser):
    from selenium.webdriver.common.by import By

    live, _ = server
    browser.get(live.url + "/sparql-editor")
    query = wait_for(browser, "#query")
    query.clear()
    query.send_keys("PREFIX bkg: <https://w3id.org/budgetkg/ontology#>\n"
                    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
                    "SELECT ?label WHERE { ?p a bkg:Project ; rdfs:label ?label FILTER(CONTAINS(?label, \"pwned\")) }")
    browser.find_element(By.ID, "run-query").click()
    cell = wait_for(browser, "#query-results td")
    texts = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#query-results td")]
    assert HOSTILE_PROJECT in texts, texts
    assert cell.find_elements(By.TAG_NAME, "img") == []
    assert_not_executed(browser)


def test_editor_shows_refusals(server, browser):
    from selenium.webdriver.common.by import By

    live, _ = server
    browser.get(live.url + "/sparql-editor")
    query = wait_for(browser, "#query")
    query.clear()
    query.send_keys("DROP ALL")
    browser.find_element(By.ID, "run-query").click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda d: "read-only" in d.find_element(By.ID, "query-status").text)


def test_indicator_page_lists_similar_indicators(server, browser):
    from selenium.webdriver.common.by import By

    live, _ = server
    browser.get(live.url + "/?q=长护险参保人数")
    link = next(a for a in browser.find_elements(By.CSS_SELECTOR, "#search-hits a")
                if "/indicator?iri=" in a.get_attribute("href"))
    link.click()
    wait_for(browser, "#similar-table")
    rows = browser.find_elements(By.CSS_SELECTOR, "#similar-table tbody tr")
    assert len(rows) >= 5
    assert browser.find_element(By.ID, "indicator-title").text


def test_answer_page_offers_csv_and_excel_downloads_and_a_permalink(server, browser):
    import csv
    import io
    from urllib.parse import unquote

    import httpx
    from openpyxl import load_workbook
    from selenium.webdriver.common.by import By

    live, _ = server
    question = "哪些县有医疗救助项目"
    browser.get(f"{live.url}/?q={question}")
    rows = wait_for(browser, "#answer-table").find_elements(By.CSS_SELECTOR, "tbody tr")
    links = {key: browser.find_element(By.ID, key).get_attribute("href")
             for key in ("download-csv", "download-xlsx", "permalink")}
    assert "format=csv" in links["download-csv"] and "format=xlsx" in links["download-xlsx"]
    assert browser.find_element(By.ID, "download-csv").text == "Download CSV"
    assert "Excel" in browser.find_element(By.ID, "download-xlsx").text

    body = httpx.get(links["download-csv"], timeout=120).content
    assert body.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(table) == len(rows)
    assert [r["label"] for r in table] == [row.find_elements(By.TAG_NAME, "td")[3].text for row in rows]
    book = load_workbook(io.BytesIO(httpx.get(links["download-xlsx"], timeout=120).content))
    assert book["answers"].max_row - 1 == len(rows)

    assert unquote(links["permalink"]) == f"{live.url}/?q={question}"
    browser.find_element(By.ID, "permalink").click()
    again = wait_for(browser, "#answer-table").find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(again) == len(rows)
    assert_not_executed(browser)


def test_ontology_page_in_the_browser(server, browser):
    from selenium.webdriver.common.by import By

    live, _ = server
    browser.get(live.url + "/")
    wait_for(browser, "#q")
    next(a for a in browser.find_elements(By.CSS_SELECTOR, "header nav a") if a.get_attribute("href").endswith(
        "/ontology")).click()
    wait_for(browser, "#ontology-toc")
    browser.find_element(By.CSS_SELECTOR, "#ontology-toc a[href='#Project']").click()
    project = browser.find_element(By.ID, "Project")
    assert "bkg:Project" in project.text and "预算项目" in project.text
    assert browser.current_url.endswith("/ontology#Project")
    assert "bkg:Disclosure" in browser.find_element(By.ID, "cites").text
    assert_not_executed(browser)
