"""``/ontology``: the ontology IRI as a page for people and as RDF for machines.

The namespace ``https://w3id.org/budgetkg/ontology#`` resolves (through the w3id.org redirect)
to ``/ontology`` here, which answers by content negotiation: ``Accept: text/turtle`` gets the
Turtle file, ``application/ld+json`` JSON-LD, ``application/n-triples`` and
``application/rdf+xml`` those, and browsers (or anything preferring HTML, or ``*/*``) the page.
A ``format`` parameter (html, ttl, jsonld, nt, rdf) overrides the header, and the explicit
``/ontology.ttl``, ``/ontology.jsonld``, ``/ontology.nt``, ``/ontology.rdf`` never negotiate.
``/ontology/{codelists|topics|shapes|budget}.ttl`` serve the other Turtle files.

The page lists every class and property of ``budget.ttl`` with zh/en labels and comments,
domains, ranges, alignments, and one real use of each term from the store
(``api.ontology_view``). It is static HTML: no script, no inline style, nothing from a CDN.
"""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path as PathParam, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api import ontology_view
from api.http_errors import ApiError
from api.sparql_results import parse_accept

router = APIRouter(tags=["ontology"])

# Media type → serialization key ("html" for the page), in the server's order of preference:
# on a tie (e.g. */*) a person with a browser is the likelier caller.
OFFERED = [("text/html", "html"), ("application/xhtml+xml", "html"), ("text/turtle", "turtle"),
           ("application/ld+json", "jsonld"), ("application/n-triples", "ntriples"),
           ("application/rdf+xml", "rdfxml"), ("application/json", "jsonld"), ("text/plain", "ntriples")]
FORMAT_ALIASES = {"html": "html", "ttl": "turtle", "turtle": "turtle", "jsonld": "jsonld", "json-ld": "jsonld",
                  "nt": "ntriples", "ntriples": "ntriples", "rdf": "rdfxml", "rdfxml": "rdfxml", "xml": "rdfxml"}
EXTENSIONS = {"ttl": "turtle", "jsonld": "jsonld", "nt": "ntriples", "rdf": "rdfxml"}

FormatParam = Annotated[str | None, Query(max_length=10, description="html, ttl, jsonld, nt or rdf: overrides "
                                                                      "the Accept header.")]


def choose(accept: str | None) -> str | None:
    """The representation for an Accept header ("html", "turtle", …), or None if nothing offered fits."""
    for media, _q in parse_accept(accept):
        if media == "*/*":
            return "html"
        for offered, key in OFFERED:
            major = offered.split("/")[0]
            if media == offered or media == f"{major}/*":
                return key
    return None


@router.get("/ontology", summary="The budget ontology: an HTML page, or Turtle / JSON-LD / N-Triples / "
                                 "RDF/XML by content negotiation")
async def ontology(request: Request, format: FormatParam = None):
    if format is not None:
        key = FORMAT_ALIASES.get(format.lower())
        if key is None:
            raise ApiError(400, "invalid_request", f"unknown format {format!r}; use one of "
                                                   "html, ttl, jsonld, nt, rdf")
    else:
        key = choose(request.headers.get("accept"))
        if key is None:
            raise ApiError(406, "not_acceptable", "the ontology is available as text/html, text/turtle, "
                                                  "application/ld+json, application/n-triples and "
                                                  "application/rdf+xml", {"accept": request.headers.get("accept")})
    if key == "html":
        return await page(request)
    return rdf_response(key, vary=True)


@router.get("/ontology.{ext}", summary="The budget ontology in one RDF syntax (ttl, jsonld, nt, rdf)")
async def ontology_file(ext: Annotated[Literal["ttl", "jsonld", "nt", "rdf"], PathParam()]):
    return rdf_response(EXTENSIONS[ext])


@router.get("/ontology/{name}.ttl", summary="A Turtle file of the ontology: budget, codelists, topics or shapes")
async def ontology_turtle(name: Annotated[Literal["budget", "codelists", "topics", "shapes"], PathParam()]):
    data = await run_in_threadpool(ontology_view.turtle_path(name).read_bytes)
    return Response(data, media_type="text/turtle; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{name}.ttl"'})


def rdf_response(key: str, *, vary: bool = False) -> Response:
    media, ext = ontology_view.SERIALIZATIONS[key]
    headers = {"Content-Disposition": f'inline; filename="budgetkg-ontology.{ext}"'}
    if vary:
        headers["Vary"] = "Accept"
    return Response(ontology_view.serialize(key), media_type=media, headers=headers)


async def page(request: Request) -> Response:
    state = request.app.state
    doc = await run_in_threadpool(ontology_view.ontology_doc)
    found = {}
    if getattr(state, "store", None) is not None:
        found = await run_in_threadpool(ontology_view.examples, state.store)
    template = state.templates.get_template("ontology.html")
    html = template.render(request=request, doc=doc, examples=found)
    return Response(html, media_type="text/html; charset=utf-8", headers={"Vary": "Accept"})
