"""``budgetkg search``, ``similar`` and ``ask``: the search layer on the command line.

``register(app, get_settings)`` adds the three commands to the main Typer app (``api.cli`` calls
it). Each opens the store read-only (an embedded store can have one writer, e.g. a running
``serve``) and the search index beside it, which refreshes itself from the store when stale.
Human output is a table; ``--format json`` (or ``--json``) prints the shapes the HTTP API returns,
``--format csv`` the rows for a spreadsheet (``api.answer_formats``).
"""
from __future__ import annotations

from typing import Callable, Optional

import typer

from api import answer_formats as formats
from ontology.errors import BudgetKGError


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text or "").split())
    out, used = "", 0
    for ch in text:
        w = 2 if ord(ch) > 0x2E7F else 1
        if used + w > width - 1 and used + w < _width(text):
            return out + "…"
        out += ch
        used += w
    return out


def table(rows: list[list[str]], headers: list[str], max_width: int = 40) -> str:
    """A plain text table with CJK-aware column widths (cells clipped to ``max_width``)."""
    cells = [[_clip(c, max_width) for c in row] for row in rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    pad = lambda s, w: s + " " * (w - _width(s))  # noqa: E731
    lines = ["  ".join(pad(h, w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(pad(c, w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _source(src: dict | None) -> str:
    if not src:
        return ""
    lines = src.get("lines")
    where = f":{lines[0]}-{lines[1]}" if lines and lines[0] != lines[1] else (f":{lines[0]}" if lines else "")
    return f"{src.get('file') or ''}{where}"


def register(app: typer.Typer, get_settings: Callable) -> None:
    """Add ``search``, ``similar`` and ``ask`` to ``app``; ``get_settings()`` returns api.settings.Settings."""

    def open_index(reindex: bool = False):
        from api.service import store_from_settings
        from search.index import SearchIndex

        settings = get_settings()
        store = store_from_settings(settings, read_only=True)
        index = SearchIndex.open(store, settings.index_path, settings.embedding_model, settings.embedding_threads,
                                 on_model_change="rebuild" if reindex else "error", refresh=False,
                                 options=settings.index_options())
        index.refresh(rebuild=reindex)
        return store, index

    @app.command()
    def search(text: str = typer.Argument(..., help="What to look for (Chinese or English, a code or a 文号)."),
               k: int = typer.Option(10, "--k", min=1, max=200, help="Number of hits."),
               type: Optional[str] = typer.Option(None, "--type", help="Only hits of this type: indicator, project, "
                                                                       "legal, text (or line for budget lines)."),
               mode: str = typer.Option("hybrid", "--mode", help="hybrid (default), dense or lexical ranking."),
               fmt: str = typer.Option("table", "--format", help=formats.CLI_HELP),
               as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
               reindex: bool = typer.Option(False, "--reindex", help="Rebuild the search index from the store "
                                                                     "first (e.g. after changing the model).")):
        """Hybrid semantic + lexical search over indicators, projects, legal documents and passages."""
        fmt = formats.cli_format(fmt, as_json)
        try:
            _, index = open_index(reindex)
            hits = index.search(text, k=k, type=type, mode=mode)
        except BudgetKGError as exc:
            _fail(str(exc))
        if formats.emit("search", {"query": text, "k": k, "type": type, "hits": hits}, fmt, get_settings(), mode=mode):
            return
        rows = [[f"{h['score']:.4f}", h["type"], h["label"], h.get("county") or "", str(h.get("fiscal_year") or ""),
                 h.get("project") or "", _source(h.get("source"))] for h in hits]
        typer.echo(table(rows, ["score", "type", "label", "county", "year", "project", "source"]))
        typer.echo(f"({len(hits)} hits)")

    @app.command()
    def similar(text_or_iri: str = typer.Argument(..., help="An indicator's IRI, or free text describing one."),
                k: int = typer.Option(10, "--k", min=1, max=200, help="Number of hits."),
                fmt: str = typer.Option("table", "--format", help=formats.CLI_HELP),
                as_json: bool = typer.Option(False, "--json", help="Same as --format json.")):
        """Performance indicators most similar to the given one, across departments and years."""
        fmt = formats.cli_format(fmt, as_json)
        try:
            _, index = open_index()
            hits = index.similar(text_or_iri, k=k)
        except BudgetKGError as exc:
            _fail(str(exc))
        if formats.emit("similar", {"query": text_or_iri, "k": k, "hits": hits}, fmt, get_settings()):
            return
        rows = [[f"{h['score']:.3f}", h["label"], h.get("target_value") or "", h.get("level2") or "",
                 h.get("project") or "", h.get("county") or "", str(h.get("fiscal_year") or ""),
                 _source(h.get("source"))] for h in hits]
        typer.echo(table(rows, ["score", "indicator", "target", "level 2", "project", "county", "year", "source"]))
        typer.echo(f"({len(hits)} hits)")

    @app.command()
    def ask(question: str = typer.Argument(..., help="A question in Chinese or English, e.g. "
                                                     "'which counties fund long-term care insurance'."),
            fmt: str = typer.Option("table", "--format", help=formats.CLI_HELP),
            as_json: bool = typer.Option(False, "--json", help="Same as --format json (question, answers, "
                                                               "sparql, evidence, summary, permalink).")):
        """Answer a question from the graph, with the SPARQL it ran and the sources of each row."""
        from search.qa import ask as qa_ask

        fmt = formats.cli_format(fmt, as_json)

        try:
            store, index = open_index()
            answer = qa_ask(question, store, index)
        except BudgetKGError as exc:
            _fail(str(exc))
        if formats.emit("ask", answer, fmt, get_settings()):
            return
        typer.echo(answer["summary"])
        if answer["answers"]:
            typer.echo("")
            rows = [[a.get("county") or "", a.get("department") or "", str(a.get("fiscal_year") or ""),
                     a.get("label") or "", "" if a.get("amount") is None else f"{a['amount']:,.2f}",
                     _source(a.get("source"))] for a in answer["answers"]]
            typer.echo(table(rows, ["county", "department", "year", "label", "万元", "source"]))
        if answer["sparql"]:
            typer.echo("\nSPARQL:\n" + answer["sparql"])
        if answer["evidence"]:
            typer.echo("\nEvidence:")
            for e in answer["evidence"]:
                typer.echo(f"  [{e['type']}] {e.get('county') or ''} {e.get('fiscal_year') or ''} "
                           f"{_source(e.get('source'))}: {_clip(e.get('text') or e.get('label'), 100)}")
