"""``/ontology`` on a real server on 127.0.0.1 over the prepared store: the page lists every class
and property ``ontology/budget.ttl`` declares (walked here with rdflib, so a term added to the
Turtle is checked the day it is added), with zh/en labels, comments, domains and ranges, and
real examples from the store but never personal data; the same address answers Turtle and JSON-LD
by content negotiation, and the explicit files parse to the same graph.
"""
from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic

from ontology import ONTOLOGY_DIR
from tests.http_support import HOSTILE_PERSON, HOSTILE_PHONE, LiveServer, prepared_home

pytestmark = pytest.mark.server

BKG = "https://w3id.org/budgetkg/ontology#"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.fixture(scope="module")
def live():
    home, _ = prepared_home()
    server = LiveServer(home).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def turtle() -> Graph:
    return Graph().parse(ONTOLOGY_DIR / "budget.ttl", format="turtle")


class Articles(HTMLParser):
    """The text and links inside each ``<article id=…>`` of a page, and every tag's attributes."""

    def __init__(self):
        super().__init__()
        self.text: dict[str, list[str]] = {}
        self.links: dict[str, list[str]] = {}
        self.tags: list[tuple[str, dict]] = []
        self._stack: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "article":
            self._stack.append(attrs.get("id"))
            self.text.setdefault(attrs.get("id"), [])
            self.links.setdefault(attrs.get("id"), [])
        elif tag == "a" and self._stack and self._stack[-1]:
            self.links[self._stack[-1]].append(attrs.get("href") or "")

    def handle_endtag(self, tag):
        if tag == "article" and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._stack and self._stack[-1]:
            self.text[self._stack[-1]].append(data)

    def article(self, name: str) -> str:
        assert name in self.text, f"no <article id={name!r}> on the page"
        return " ".join(" ".join(self.text[name]).split())


@pytest.fixture(scope="module")
def page(live):
    response = httpx.get(live.url + "/ontology", headers={"Accept": BROWSER_ACCEPT}, timeout=60)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parser = Articles()
    parser.feed(response.text)
    return response, parser


def terms(graph: Graph, *types) -> list[URIRef]:
    return sorted({s for t in types for s in graph.subjects(RDF.type, t) if str(s).startswith(BKG)})


def label(graph: Graph, term, lang: str) -> str:
    return next(str(o) for o in graph.objects(term, RDFS.label) if isinstance(o, Literal) and o.language == lang)


def curie(iri) -> str:
    for prefix, ns in (("bkg", BKG), ("xsd", "http://www.w3.org/2001/XMLSchema#"),
                       ("skos", "http://www.w3.org/2004/02/skos/core#")):
        if str(iri).startswith(ns):
            return f"{prefix}:{str(iri)[len(ns):]}"
    return str(iri)


# ---------------------------------------------------------------- the page


def test_every_class_and_property_of_the_turtle_is_on_the_page(page, turtle):
    _, html = page
    classes = terms(turtle, OWL.Class)
    properties = terms(turtle, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property)
    assert len(classes) >= 14 and len(properties) >= 80
    for term in classes + properties:
        name = str(term)[len(BKG):]
        text = html.article(name)
        assert f"bkg:{name}" in text
        assert label(turtle, term, "zh") in text and label(turtle, term, "en") in text, name
        for comment in turtle.objects(term, RDFS.comment):
            assert " ".join(str(comment).split()) in text, (name, comment.language)


def test_properties_show_their_domain_and_range_and_link_within_the_page(page, turtle):
    _, html = page
    for prop in terms(turtle, OWL.ObjectProperty, OWL.DatatypeProperty):
        name = str(prop)[len(BKG):]
        text = html.article(name)
        for kind in (RDFS.domain, RDFS.range):
            for node in turtle.objects(prop, kind):
                union = turtle.value(node, OWL.unionOf)  # a domain "A or B"
                targets = list(Collection(turtle, union)) if union is not None else [node]
                if union is not None:
                    assert " or ".join(curie(t) for t in sorted(targets, key=curie)) in text, name
                for target in targets:
                    assert curie(target) in text, (name, kind, target)
                    if str(target).startswith(BKG):
                        assert f"#{str(target)[len(BKG):]}" in html.links[name]
    assert "object property" in html.article("publishedBy") and "functional" in html.article("publishedBy")


def test_classes_list_the_properties_that_describe_them(page):
    _, html = page
    for name in ("publishedBy", "fiscalYear", "hasProject", "totalExpenditure"):
        assert f"#{name}" in html.links["Disclosure"]
    assert "#hasIndicator" in html.links["PerformanceIndicator"]


def test_examples_come_from_the_store(page, live):
    _, html = page
    info = prepared_home()[1]
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    links = html.links["Disclosure"] + html.links["hasProject"]
    assert any(link.startswith("/disclosures/") and link.split("/")[2] in info["samples"] + [info["hostile"]]
               for link in links), links
    assert "example" in html.article("fiscalYear") and any(str(y) in html.article("fiscalYear")
                                                           for y in (2021, 2023, 2024))


def test_no_personal_data_and_no_markup_from_documents(page):
    response, html = page
    body = response.text
    assert HOSTILE_PHONE not in body and HOSTILE_PERSON not in body and "13633587231" not in body
    for name in ("Contact", "phone", "contactName", "hasContact"):
        assert "Personal data" in html.article(name)
    assert "<script>window" not in body and "<img src=x" not in body


def test_page_is_csp_safe_and_self_contained(page):
    response, html = page
    assert "script-src 'self'" in response.headers["content-security-policy"]
    scripts = [attrs for tag, attrs in html.tags if tag == "script"]
    assert all(attrs.get("src") == "/static/app.js" for attrs in scripts)
    assert not any("style" in attrs for _, attrs in html.tags), "inline styles are blocked by the CSP"
    assert not any(attrs.get("href", "").startswith("http") and tag == "link" for tag, attrs in html.tags)
    assert "Accept" in response.headers["vary"]


def test_the_nav_bar_links_the_ontology(live):
    home = httpx.get(live.url + "/", headers={"Accept": "text/html"}, timeout=60).text
    assert 'href="/ontology"' in home


# ---------------------------------------------------------------- content negotiation


@pytest.mark.parametrize("accept, fmt, media", [
    ("text/turtle", "turtle", "text/turtle"),
    ("application/ld+json", "json-ld", "application/ld+json"),
    ("application/n-triples", "nt", "application/n-triples"),
    ("application/rdf+xml", "xml", "application/rdf+xml"),
    ("text/turtle;q=0.9, application/ld+json", "json-ld", "application/ld+json"),
    ("text/html;q=0.5, text/turtle", "turtle", "text/turtle"),
], ids=["turtle", "jsonld", "ntriples", "rdfxml", "q-values", "rdf-over-html"])
def test_the_ontology_iri_answers_rdf_by_content_negotiation(live, turtle, accept, fmt, media):
    response = httpx.get(live.url + "/ontology", headers={"Accept": accept}, timeout=60)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert "Accept" in response.headers["vary"]
    assert isomorphic(Graph().parse(data=response.content, format=fmt), turtle)


def test_browsers_and_anything_get_the_page(live):
    for accept in (BROWSER_ACCEPT, "*/*", None):
        headers = {"Accept": accept} if accept else {}
        response = httpx.get(live.url + "/ontology", headers=headers, timeout=60)
        assert response.headers["content-type"].startswith("text/html"), accept


@pytest.mark.parametrize("path, fmt", [("/ontology.ttl", "turtle"), ("/ontology.jsonld", "json-ld"),
                                       ("/ontology.nt", "nt"), ("/ontology.rdf", "xml"),
                                       ("/ontology?format=ttl", "turtle"), ("/ontology?format=jsonld", "json-ld")])
def test_explicit_files_are_the_same_graph(live, turtle, path, fmt):
    response = httpx.get(live.url + path, headers={"Accept": "text/html"}, timeout=60)
    assert response.status_code == 200
    assert isomorphic(Graph().parse(data=response.content, format=fmt), turtle)


def test_turtle_is_the_file_itself_with_its_comments(live):
    body = httpx.get(live.url + "/ontology.ttl", timeout=60).content
    assert body == (ONTOLOGY_DIR / "budget.ttl").read_bytes()


@pytest.mark.parametrize("name", ["codelists", "topics", "shapes", "budget"])
def test_the_other_turtle_files_are_served(live, name):
    response = httpx.get(f"{live.url}/ontology/{name}.ttl", timeout=60)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    assert isomorphic(Graph().parse(data=response.content, format="turtle"),
                      Graph().parse(ONTOLOGY_DIR / f"{name}.ttl", format="turtle"))


def test_unacceptable_types_and_formats_are_clear_errors(live):
    response = httpx.get(live.url + "/ontology", headers={"Accept": "image/png"}, timeout=60)
    assert response.status_code == 406 and response.json()["error"]["code"] == "not_acceptable"
    assert "text/turtle" in response.json()["error"]["message"]
    bad = httpx.get(live.url + "/ontology", params={"format": "pdf"}, timeout=60)
    assert bad.status_code == 400 and "jsonld" in bad.json()["error"]["message"]
    assert httpx.get(live.url + "/ontology/secrets.ttl", timeout=60).status_code in (404, 422)
