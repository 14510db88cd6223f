"""The web pages, rendered in-process: each page works over the real samples, needs nothing from
the internet, and shows document text (``<script>``, ``<img onerror>``, the ``<b>`` tags seed 003
prints) as text. The browser test (tests/test_browser.py) checks the same in Chromium.
"""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.http_support import HOSTILE_PERSON, HOSTILE_PHONE, make_app, prepared_home, wait_for_index

RAW_MARKUP = ["<script>window", "<script>alert", "<img src=x", "onerror=\"window", "<b>粗体"]
PERSONAL = ["13633587231", "郭瑞林", "王宇", HOSTILE_PHONE, HOSTILE_PERSON]


@pytest.fixture(scope="module")
def client():
    with TestClient(make_app()) as c:
        assert wait_for_index(c) == "ready"
        yield c


@pytest.fixture(scope="module")
def info():
    return prepared_home()[1]


def page(client, path, **params):
    r = client.get(path, params=params, headers={"Accept": "text/html"})
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    return r.text


def assert_inert(html: str):
    for raw in RAW_MARKUP:
        assert raw not in html, f"unescaped document markup {raw!r} in the page"
    for secret in PERSONAL:
        assert secret not in html


def assert_offline(html: str):
    """Nothing is loaded from another host: every src/href is local (or a same-page link)."""
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert not re.match(r"^(https?:)?//", url), url


def test_home_lists_the_disclosures(client, info):
    html = page(client, "/")
    assert_offline(html)
    assert 'id="disclosure-list"' in html
    if info["samples"]:
        for department in ("乐亭县医疗保障局", "霸州市医疗保障局", "大城县医疗保障局", "兴县医疗保障局"):
            assert department in html


def test_question_shows_answer_table_sources_and_sparql(client, info):
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    html = page(client, "/", q="哪些县有医疗救助项目")
    assert 'id="answer-table"' in html and 'id="answer-sparql"' in html
    table = html.split('id="answer-table"')[1].split("</table>")[0]
    assert "医疗救助" in table and ".txt" in table  # rows name their source file and lines
    link = re.search(r'id="open-in-editor" href="([^"]+)"', html).group(1)
    editor = page(client, link.replace("&amp;", "&").split("?")[0],
                  query=re.sub(r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), link.split("query=")[1]))
    assert "SELECT" in editor and 'id="query"' in editor
    assert 'id="search-hits"' in html
    assert_inert(html)


def test_english_question(client, info):
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    html = page(client, "/", q="which counties fund long-term care insurance")
    assert 'id="answer-table"' in html and "乐亭县" in html


def test_hostile_question_is_shown_as_text(client):
    html = page(client, "/", q='<script>alert("q")</script>"}#')
    assert '<script>alert("q")' not in html
    assert "&lt;script&gt;alert(&#34;q&#34;)&lt;/script&gt;" in html


def test_disclosure_page_with_chart_projects_findings(client, info):
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    listing = client.get("/api/disclosures", params={"county": "乐亭", "year": 2023}).json()["disclosures"]
    html = page(client, f"/disclosures/{listing[0]['id']}")
    assert_offline(html)
    chart = html.split('id="function-chart"')[1].split("</svg>")[0]
    assert chart.count("<rect") == 3 and "卫生健康支出" in chart and "7,804.21" in chart
    assert "长期照护险" in html and "长护险参保人数" in html and "000_bd07622c98d0036c.txt" in html
    assert_inert(html)


def test_hostile_disclosure_page_escapes_document_text(client, info):
    html = page(client, f"/disclosures/{info['hostile']}")
    assert_inert(html)
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;医保&lt;img src=x onerror=&#34;window.__pwned=2&#34;&gt;专项" in html
    assert "卫生健康支出&lt;b&gt;粗体&lt;/b&gt;" in html  # in the chart's labels too


def test_seed_html_tags_are_text(client, info):
    """Seed 003 (Markdown) carries HTML tags such as <b>; wherever they reach a page they are text."""
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    xing = client.get("/api/disclosures", params={"department": "兴县"}).json()["disclosures"][0]["id"]
    html = page(client, f"/disclosures/{xing}")
    assert not re.search(r"<(b|br|font|span|div)[ >]", html.split("<main>")[1].split("</main>")[0]
                         .replace('<span class="amount">', "").replace('<span class="meta">', ""))
    assert_inert(html)


def test_indicator_page_with_similar_indicators(client, info):
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    hit = client.get("/api/search", params={"q": "长护险参保人数", "type": "indicator", "k": 1}).json()["hits"][0]
    html = page(client, "/indicator", iri=hit["iri"])
    assert 'id="similar-table"' in html and hit["label"] in html
    assert html.count("/indicator?iri=") >= 5  # similar indicators link to their own pages
    assert_inert(html)


def test_hostile_indicator_page(client, info):
    d = client.get(f"/api/disclosures/{info['hostile']}").json()
    indicator = next(i for p in d["projects"] for i in p["indicators"] if "onerror" in i["label"])
    html = page(client, "/indicator", iri=indicator["iri"])
    assert_inert(html)
    assert "参保人数&lt;img src=x onerror=&#34;window.__pwned=3&#34;&gt;" in html


def test_findings_page(client, info):
    html = page(client, "/findings")
    assert 'id="findings-table"' in html
    assert_inert(html)


def test_sparql_editor_prefills_and_escapes(client):
    html = page(client, "/sparql-editor", query='SELECT * WHERE { ?s ?p "</textarea><script>alert(1)</script>" }')
    assert "</textarea><script>" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;" in html
    assert html.count("<option") >= 7 and "data-query=" in html
    assert_offline(html)


def test_api_docs_render_offline(client):
    html = page(client, "/docs")
    assert_offline(html)
    for path in ("/sparql", "/api/search", "/api/similar", "/api/ask", "/api/disclosures", "/api/findings",
                 "/api/health"):
        assert f"{path}</code>" in html or f" {path}" in html
    assert client.get("/openapi.json").json()["info"]["title"] == "budgetkg"


def test_static_assets_are_served(client):
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "textContent" in js.text
    assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", js.text)
    assert client.get("/static/app.css").status_code == 200


def test_unknown_page_is_a_friendly_404(client):
    r = client.get("/disclosures/" + quote("no-such-id"), headers={"Accept": "text/html"})
    assert r.status_code == 404 and "Error 404" in r.text
