"""``budgetkg search``, ``similar`` and ``ask``: the search layer on the command line.

``register(app, get_settings)`` adds the three commands to the main Typer app (``api.cli`` calls
it). Each opens the store read-only (an embedded store can have one writer, e.g. a running
``serve``) and the search index beside it, which refreshes itself from the store when stale.
Human output is a table; ``--format json`` (or ``--json``) prints the shapes the HTTP API returns,
``--format csv`` the rows for a spreadsheet (``api.answer_formats``).

Each runs under a time limit (``--timeout``, default the setting ``request_timeout_s``) counted
from when the store, the index and the model are open (and, for ``ask``, the question parser's
names are read, as ``serve`` does at start-up): ask's SPARQL runs in a child process that is killed at
the deadline (``api.bounded.QueryChild``, started while the index loads), and past the limit the
command prints one error line and exits 1 whatever it was doing.
"""
from __future__ import annotations

import os
import sys
from typing import Callable, Optional

import typer

from api import answer_formats as formats
from ontology.errors import BudgetKGError


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _fail_now(message: str, child=None) -> None:
    """Past the time limit with work still running in a thread: one line, then end the process
    (a thread cannot be stopped, and interpreter shutdown could wait on it)."""
    if child is not None:
        child.close()
    sys.stdout.flush()
    typer.echo(f"error: {message}", err=True)
    sys.stderr.flush()
    os._exit(1)


def _timeout_option():
    return typer.Option(None, "--timeout", min=0.001, help="Time limit in seconds (default: the setting "
                                                           "request_timeout_s, 10 s).")


def _bounded(kind: str, limit: Optional[float], get_settings: Callable, work: Callable, *, child=None, store=None):
    """``work(ctx)`` within the time limit; a timeout is one error line and exit status 1.

    ``child`` runs ask's SPARQL (killed at the deadline); without one (an in-memory store) the
    queries run on ``store`` in this process."""
    from api.bounded import CliContext, RequestTimeout, run_with_deadline

    ctx = CliContext(kind, limit or get_settings().request_timeout_s, child, store)
    try:
        return run_with_deadline(ctx, work)
    except RequestTimeout as exc:
        if getattr(exc, "still_running", False):
            _fail_now(str(exc), child)
        _fail(str(exc))  # the work stopped by itself (its query process was killed)


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
        from api.progress import ReportedProgress
        from api.service import store_from_settings
        from search.index import SearchIndex

        settings = get_settings()
        store = store_from_settings(settings, read_only=True)
        index = SearchIndex.open(store, settings.index_path, settings.embedding_model, settings.embedding_threads,
                                 on_model_change="rebuild" if reindex else "error", refresh=False,
                                 options=settings.index_options())
        with ReportedProgress("index") as progress:  # a first build from a large store takes minutes
            index.refresh(rebuild=reindex, progress=progress)
        index.encode_query("预算")  # load the model now: the time limit is for the request itself
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
                                                                     "first (e.g. after changing the model)."),
               timeout: Optional[float] = _timeout_option()):
        """Hybrid semantic + lexical search over indicators, projects, legal documents and passages."""
        from api.bounded import search_bounded

        fmt = formats.cli_format(fmt, as_json)
        try:
            _, index = open_index(reindex)
            hits = _bounded("search", timeout, get_settings,
                            lambda ctx: search_bounded(ctx, index, text, k=k, type=type, mode=mode))
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
                as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
                timeout: Optional[float] = _timeout_option()):
        """Performance indicators most similar to the given one, across departments and years."""
        from api.bounded import similar_bounded

        fmt = formats.cli_format(fmt, as_json)
        try:
            _, index = open_index()
            hits = _bounded("similar", timeout, get_settings,
                            lambda ctx: similar_bounded(ctx, index, text_or_iri, k=k))
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
                                                               "sparql, evidence, summary, permalink)."),
            timeout: Optional[float] = _timeout_option()):
        """Answer a question from the graph, with the SPARQL it ran and the sources of each row."""
        from api.bounded import ask_bounded, start_query_child, warm_up

        fmt = formats.cli_format(fmt, as_json)
        child = None
        try:
            child = start_query_child(get_settings())  # starts while the index loads
            store, index = open_index()
            warm_up(index, store)  # the question parser's names: start-up, outside the time limit
            answer = _bounded("ask", timeout, get_settings, lambda ctx: ask_bounded(ctx, question, store, index),
                              child=child, store=store)
        except BudgetKGError as exc:
            _fail(str(exc))
        finally:
            if child is not None:
                child.close()
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
