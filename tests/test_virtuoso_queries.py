"""Every SPARQL query budgetkg sends gives the same answer on Virtuoso as on the embedded store.

The queries are not listed here: they are recorded while the real code runs over the prepared
test data (samples, hostile disclosure, topic tags) on the embedded store: what the search index
reads (``search.corpus``), the web pages and JSON API (``api.catalog``), ``check``/``info``
(``api.graph_checks``), the README's example queries, and ``ask`` over the evaluation questions
(``benchmarks/retrieval_eval.py`` and tests/test_qa.py). Each is then run on Virtuoso holding the
same graphs, and the rows compared. A construct Virtuoso rejects or evaluates differently shows up
here by itself, whichever module sends it.

What may differ and is not a difference: numbers compare by value (Virtuoso gives back ``7895.4``
for ``7895.40``); language tags of computed strings (GROUP_CONCAT/CONCAT results: engines differ,
the text is what is used); the order inside a GROUP_CONCAT; and which value SAMPLE picks where a
group has several (the Virtuoso value must be one of the group's values, found by running the
query on the embedded store with SAMPLE turned into GROUP_CONCAT).
"""
from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal

from tests.http_support import HOSTILE_FILE, memory_copy, prepared_home, search_available
from tests.virtuoso_support import require_virtuoso

pytestmark = pytest.mark.server

SAMPLE_RE = re.compile(r"\(SAMPLE\((\?\w+)\) AS \?(\w+)\)", re.IGNORECASE)
CONCAT_RE = re.compile(r"\(GROUP_CONCAT\((?:DISTINCT\s+)?\?\w+\s*;\s*SEPARATOR\s*=\s*\"((?:[^\"\\]|\\.)*)\"\)\s+AS\s+\?(\w+)\)",
                       re.IGNORECASE)
CANDIDATES_SEP = "\x1f"


class RecordingStore:
    """A store that notes every query it is asked (then answers it as the wrapped store does)."""

    def __init__(self, store, log: list):
        self._store, self._log = store, log

    def query(self, sparql, *, include_private=False, max_rows=None):
        self._log.append((sparql, include_private, max_rows))
        return self._store.query(sparql, include_private=include_private, max_rows=max_rows)

    def __getattr__(self, name):
        return getattr(self._store, name)


def _questions() -> list[str]:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    found = re.findall(r'AskCase\("([^"]+)"', (root / "benchmarks" / "retrieval_eval.py").read_text(encoding="utf-8"))
    found += re.findall(r'ask\("([^"]+)"', (root / "tests" / "test_qa.py").read_text(encoding="utf-8"))
    return list(dict.fromkeys(q for q in found if q.strip()))


@pytest.fixture(scope="module")
def recorded() -> dict[str, list]:
    """Queries by the part of budgetkg that sent them, recorded on the embedded store."""
    from pathlib import Path

    from api import graph_checks
    from api.catalog import Catalog

    home, _ = prepared_home()
    memory = memory_copy()
    groups: dict[str, list] = defaultdict(list)

    def part(name):
        return RecordingStore(memory, groups[name])

    if search_available():
        from search import corpus
        from search.index import SearchIndex
        from search.qa import ask

        corpus.store_state(part("index"))
        corpus.collect_items(part("index"))
        index = SearchIndex.open(part("ask"), home / "index", "use-multilingual", 1)
        for question in _questions():
            ask(question, part("ask"), index)
    catalog = Catalog(part("catalog"))
    for d in catalog.disclosures():
        catalog.disclosure(d["id"])
    catalog.findings()
    rows = memory.query("PREFIX bkg: <https://w3id.org/budgetkg/ontology#> SELECT ?i WHERE { "
                        "?i a bkg:PerformanceIndicator } ORDER BY ?i LIMIT 3").rows
    for row in rows:
        catalog.indicator(str(row["i"]))
    graph_checks.counts(part("checks"))
    graph_checks.findings_table(part("checks"))
    for path in sorted((Path(__file__).resolve().parent.parent / "examples" / "queries").glob("*.rq")):
        part("examples").query(path.read_text(encoding="utf-8"))
    return {"memory": memory, **{k: list(dict.fromkeys(v)) for k, v in groups.items()}}


@pytest.fixture(scope="module")
def virtuoso_store(recorded):
    """Virtuoso holding the prepared data's public graphs, written through the remote store."""
    from search.store import is_private_graph, open_store

    server = require_virtuoso()
    home, _ = prepared_home()
    groups: dict[str, list] = defaultdict(list)
    for quad in ox.parse(path=str(home / "dump.nq"), format=ox.RdfFormat.N_QUADS):
        if not is_private_graph(quad.graph_name.value):
            groups[quad.graph_name.value].append(ox.Triple(quad.subject, quad.predicate, quad.object))
    store = open_store("sparql", query_url=server.sparql_url, update_url=server.sparql_url)
    for name, triples in groups.items():
        store.replace_graph(name, Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES),
                                                format="nt"))
    yield store
    store.close()


def _value(term, *, number_ok=True):
    if term is None:
        return None
    if isinstance(term, Literal):
        if number_ok:
            try:
                if term.datatype is not None and str(term.datatype).startswith("http://www.w3.org/2001/XMLSchema#") \
                        and str(term.datatype).rsplit("#", 1)[1] in ("decimal", "integer", "int", "long", "double",
                                                                      "float", "short", "byte"):
                    return ("number", Decimal(str(term)).normalize())
            except InvalidOperation:
                pass
        return ("text", str(term))
    return ("node", str(term))


def _flat(value):
    """A column value as SAMPLE candidates are written: numbers by value, the rest as text."""
    return value if value is None or value[0] == "number" else value[1]


def _candidate(text: str):
    try:
        return ("number", Decimal(text).normalize())
    except InvalidOperation:
        return text


def _answer(store, query: str, include_private: bool, max_rows):
    """Rows keyed by everything but the SAMPLE and GROUP_CONCAT columns."""
    result = store.query(query, include_private=include_private, max_rows=max_rows)
    if result.boolean is not None:
        return result.boolean
    if result.graph is not None:
        return sorted(tuple(repr(_value(t)) for t in triple) for triple in result.graph)
    samples = {alias for _, alias in SAMPLE_RE.findall(query)}
    concats = {alias: sep.encode().decode("unicode_escape") for sep, alias in CONCAT_RE.findall(query)}
    rows = defaultdict(list)
    for row in result.rows:
        key = tuple(sorted((k, repr(_value(v))) for k, v in row.items() if k not in samples and k not in concats))
        loose = {k: _value(row.get(k)) for k in samples}
        for alias, sep in concats.items():
            text = str(row[alias]) if row.get(alias) is not None else ""
            loose[alias] = tuple(sorted(p for p in text.split(sep) if p))
        rows[key].append(loose)
    return rows


def _compare(memory, remote, query: str, include_private: bool, max_rows) -> str | None:
    """None when Virtuoso answers as the embedded store does, else what differs."""
    try:
        theirs = _answer(remote, query, include_private, max_rows)
    except Exception as exc:  # noqa: BLE001 - a refusal is a difference to report
        return f"Virtuoso refused it: {str(exc)[:300]}"
    ours = _answer(memory, query, include_private, max_rows)
    if not isinstance(ours, dict):
        return None if ours == theirs else f"embedded {str(ours)[:300]} / Virtuoso {str(theirs)[:300]}"
    if set(ours) != set(theirs):
        only_ours, only_theirs = set(ours) - set(theirs), set(theirs) - set(ours)
        return f"rows only on the embedded store: {sorted(only_ours)[:2]}; only on Virtuoso: {sorted(only_theirs)[:2]}"
    samples = {alias for _, alias in SAMPLE_RE.findall(query)}
    candidates = {}
    if samples:  # what SAMPLE could have picked, per group
        widened = SAMPLE_RE.sub(lambda m: f'(GROUP_CONCAT(DISTINCT STR({m.group(1)}); SEPARATOR="\\u001f") AS ?{m.group(2)})',
                                query)
        for key, values in _answer(memory, widened, include_private, max_rows).items():
            candidates[key] = values
    for key, mine in ours.items():
        other = theirs[key]
        if len(mine) != len(other):
            return f"{len(mine)} rows on the embedded store, {len(other)} on Virtuoso for {key[:3]}"
        for a, b in zip(sorted(mine, key=repr), sorted(other, key=repr)):
            for column in a:
                if column in samples:
                    choices = {_candidate(p) for row in candidates.get(key, []) for p in (row.get(column) or ())}
                    choices.add(_flat(a[column]))
                    if _flat(b[column]) not in choices:
                        return f"{column}: Virtuoso picked {b[column]!r}, not one of {sorted(map(str, choices))[:4]}"
                elif a[column] != b[column]:
                    return f"{column}: embedded {a[column]!r} / Virtuoso {b[column]!r}"
    return None


@pytest.mark.parametrize("part", ["index", "catalog", "checks", "examples"])
def test_queries_answer_alike_on_virtuoso(recorded, virtuoso_store, part):
    queries = recorded.get(part, [])
    if part == "index" and not search_available():
        pytest.skip("search dependencies missing")
    assert queries
    problems = [(q, problem) for q, private, max_rows in queries
                if (problem := _compare(recorded["memory"], virtuoso_store, q, private, max_rows))]
    assert not problems, "\n\n".join(f"{p}\n{q[-1200:]}" for q, p in problems[:3])


def test_ask_queries_answer_alike_on_virtuoso(recorded, virtuoso_store):
    if not search_available():
        pytest.skip("search dependencies missing")
    queries = recorded["ask"]
    assert len(queries) > 30
    problems = [(q, problem) for q, private, max_rows in queries
                if (problem := _compare(recorded["memory"], virtuoso_store, q, private, max_rows))]
    assert not problems, f"{len(problems)} of {len(queries)} differ:\n\n" + "\n\n".join(
        f"{p}\n{q[-1500:]}" for q, p in problems[:3])


def test_the_comparison_sees_a_difference(recorded, virtuoso_store):
    """The comparison is not blind: the same query with a different constant differs."""
    assert HOSTILE_FILE.exists()
    query = ("PREFIX bkg: <https://w3id.org/budgetkg/ontology#> SELECT ?d ?y WHERE { ?d bkg:fiscalYear ?y }")
    assert _compare(recorded["memory"], virtuoso_store, query, False, None) is None
    virtuoso_store.update("INSERT DATA { GRAPH <https://w3id.org/budgetkg/graph/test-extra> { "
                          "<https://w3id.org/budgetkg/id/x> <https://w3id.org/budgetkg/ontology#fiscalYear> 1999 } }")
    try:
        assert _compare(recorded["memory"], virtuoso_store, query, False, None) is not None
    finally:
        virtuoso_store.drop_graph("https://w3id.org/budgetkg/graph/test-extra")
