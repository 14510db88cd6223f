"""``/sparql``: a read-only SPARQL 1.1 Protocol endpoint for the public.

GET with ``query=``, POST form-encoded (``query=``) or POST ``application/sparql-query``;
``default-graph-uri`` / ``named-graph-uri`` as in the protocol. Results are content-negotiated
(Accept header, or a ``format``/``output`` parameter): SELECT/ASK as JSON, XML, CSV or TSV;
CONSTRUCT/DESCRIBE as Turtle, N-Triples, JSON-LD or RDF/XML. GET without a query returns the
service description (Turtle by default; browsers asking for HTML are sent to the editor page).

Order of work for a request: size limits, the guard (``api.sparql_guard``: no Update, no LOAD, no
SERVICE), content negotiation, then evaluation in a killable worker (``api.query_workers``) under
``min(client timeout, query_timeout_s)``. Capped results say so in ``X-Result-Truncated`` /
``X-Result-Limit`` headers and, for JSON, a ``truncated`` field.
"""
from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from api.deps import PoolDep, SettingsDep
from api.http_errors import ApiError
from api.settings import Settings
from api.sparql_guard import check_iri, check_query, check_update_request
from api.sparql_results import negotiate, parse_accept

router = APIRouter(tags=["SPARQL"])

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
VOID = Namespace("http://rdfs.org/ns/void#")
_FORMAT_IRIS = ["SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                "Turtle", "N-Triples", "JSON-LD", "RDF_XML"]
# Form encoding can triple the size of non-ASCII text (one byte -> %XX); the decoded query is
# checked against max_query_bytes exactly by the guard.
_ENCODING_SLACK = 3


def body_limit(settings: Settings) -> int:
    return _ENCODING_SLACK * settings.max_query_bytes + 4096


QueryParam = Annotated[str | None, Query(description="The SPARQL query (SELECT, ASK, CONSTRUCT or DESCRIBE).")]
TimeoutParam = Annotated[str | None, Query(description="Time limit in seconds; at most the server's "
                                                       "query_timeout_s (a longer one is shortened).")]
FormatParam = Annotated[str | None, Query(description="Result format overriding the Accept header: json, "
                                                      "xml, csv, tsv, turtle, nt, jsonld, rdfxml.")]
GraphsParam = Annotated[list[str] | None, Query(alias="default-graph-uri", description="Default graph(s) of "
                                                                                        "the dataset.")]
NamedParam = Annotated[list[str] | None, Query(alias="named-graph-uri", description="Named graph(s) of "
                                                                                     "the dataset.")]


@router.get("/sparql", summary="SPARQL 1.1 query (GET) or the service description")
async def sparql_get(request: Request, settings: SettingsDep, pool: PoolDep, query: QueryParam = None,
                     timeout: TimeoutParam = None, format: FormatParam = None, output: FormatParam = None,
                     default_graph_uri: GraphsParam = None, named_graph_uri: NamedParam = None):
    if len(request.url.query.encode("utf-8")) > body_limit(settings):
        raise ApiError(414, "query_too_large", f"query string too long; this endpoint accepts queries up to "
                                               f"{settings.max_query_bytes} bytes (POST them if needed)")
    params = request.query_params
    check_update_request(params.get("update"))
    if query is None:
        return service_description(request, settings)
    return await answer(request, settings, pool, query, timeout=timeout, fmt=format or output,
                        default_graphs=default_graph_uri or [], named_graphs=named_graph_uri or [])


@router.post("/sparql", summary="SPARQL 1.1 query (POST form-encoded or application/sparql-query)")
async def sparql_post(request: Request, settings: SettingsDep, pool: PoolDep):
    limit = body_limit(settings)
    length = request.headers.get("content-length")
    if length is None:
        raise ApiError(411, "length_required", "send a Content-Length header with the request body")
    if not length.isdigit() or int(length) > limit:
        raise ApiError(413, "query_too_large", f"request body over {limit} bytes; queries may be at most "
                                               f"{settings.max_query_bytes} bytes")
    body = await request.body()
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    url_params = request.query_params
    if media == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ApiError(400, "bad_request", f"unreadable form body: {exc}") from None
        check_update_request(form.get("update", [None])[0])
        query = form.get("query", [None])[0]
        first = lambda name: (form.get(name) or [url_params.get(name)])[0]  # noqa: E731
        default_graphs = form.get("default-graph-uri", []) + url_params.getlist("default-graph-uri")
        named_graphs = form.get("named-graph-uri", []) + url_params.getlist("named-graph-uri")
    elif media == "application/sparql-query":
        try:
            query = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "bad_request", "the query body is not UTF-8 text") from None
        first = url_params.get
        default_graphs = url_params.getlist("default-graph-uri")
        named_graphs = url_params.getlist("named-graph-uri")
    elif media == "application/sparql-update":
        check_update_request("")
        raise AssertionError("unreachable")
    else:
        raise ApiError(415, "unsupported_media_type", f"POST a query as application/x-www-form-urlencoded "
                                                      f"(query=...) or application/sparql-query, not {media or 'no type'}")
    if query is None:
        raise ApiError(400, "query_missing", "no 'query' parameter: send a SPARQL query to evaluate")
    return await answer(request, settings, pool, query, timeout=first("timeout"),
                        fmt=first("format") or first("output"), default_graphs=default_graphs,
                        named_graphs=named_graphs)


def effective_timeout(requested: str | None, settings: Settings) -> float:
    """The client's time limit, never above the server's; a bad value is a 400, not ignored."""
    limit = settings.query_timeout_s
    if requested is None or requested == "":
        return limit
    try:
        value = float(requested)
    except ValueError:
        value = float("nan")
    if not value > 0:  # also catches NaN
        raise ApiError(400, "invalid_request", f"timeout must be a positive number of seconds, not {requested!r}")
    return min(value, limit)


async def answer(request: Request, settings: Settings, pool, query: str, *, timeout: str | None,
                 fmt: str | None, default_graphs: list[str], named_graphs: list[str]) -> Response:
    checked = check_query(query, max_bytes=settings.max_query_bytes)
    result_format = negotiate(request.headers.get("accept"), graph=checked.returns_graph, format_param=fmt)
    seconds = effective_timeout(timeout, settings)
    graphs = [check_iri(g, what="default-graph-uri") for g in default_graphs]
    named = [check_iri(g, what="named-graph-uri") for g in named_graphs]
    result = await pool.run(checked.text, checked.form, result_format.key, timeout_s=seconds,
                            max_rows=settings.max_result_rows, default_graphs=graphs, named_graphs=named)
    headers = {"X-Result-Truncated": "true" if result.truncated else "false",
               "X-Result-Limit": str(settings.max_result_rows), "X-Result-Count": str(result.count),
               "X-Query-Time": f"{result.elapsed_s:.3f}", "X-Query-Timeout": f"{seconds:g}",
               "Vary": "Accept", "Cache-Control": "no-store"}
    return Response(result.body, media_type=result_format.content_type, headers=headers)


def service_description(request: Request, settings: Settings) -> Response:
    """The SPARQL 1.1 Service Description of this endpoint, content-negotiated among RDF formats."""
    accept = request.headers.get("accept")
    best = parse_accept(accept)
    if best and best[0][0] in ("text/html", "application/xhtml+xml"):
        return RedirectResponse("/sparql-editor", status_code=303)
    fmt = negotiate(accept, graph=True, format_param=request.query_params.get("format"))
    endpoint = URIRef(str(request.url_for("sparql_get")))
    g = Graph()
    for prefix, ns in (("sd", SD), ("formats", FORMATS), ("void", VOID), ("dct", DCTERMS)):
        g.bind(prefix, ns)
    g.add((endpoint, RDF.type, SD.Service))
    g.add((endpoint, SD.endpoint, endpoint))
    g.add((endpoint, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((endpoint, SD.feature, SD.UnionDefaultGraph))
    for name in _FORMAT_IRIS:
        g.add((endpoint, SD.resultFormat, FORMATS[name]))
    g.add((endpoint, DCTERMS.title, Literal("budgetkg public SPARQL endpoint", lang="en")))
    g.add((endpoint, RDFS.comment, Literal(
        "Read-only: SPARQL Update, LOAD and SERVICE are refused. Every query runs under a time limit of at "
        f"most {settings.query_timeout_s:g} s (parameter 'timeout' may shorten it) and returns at most "
        f"{settings.max_result_rows} rows; a capped result says so in the X-Result-Truncated header. "
        "The default graph is the union of the public named graphs (one per disclosure).", lang="en")))
    dataset = BNode()
    g.add((endpoint, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    default_graph = BNode()
    g.add((dataset, SD.defaultGraph, default_graph))
    g.add((default_graph, RDF.type, SD.Graph))
    rdflib_format = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "rdfxml": "xml"}[fmt.key]
    return Response(g.serialize(format=rdflib_format, encoding="utf-8"), media_type=fmt.content_type,
                    headers={"Vary": "Accept"})
