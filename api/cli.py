"""The ``budgetkg`` command line: one verb per job.

ingest, sparql, export, check and info live here; search/similar/ask come from
``api.cli_search`` and serve from ``api.cli_serve``. User errors exit non-zero with one clear
line and no traceback.
"""
from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from api.settings import Settings, load_settings
from ontology.errors import BudgetKGError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="budgetkg: a knowledge graph with semantic search over Chinese public budget disclosures.")

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "ingest" / "samples"

_state: dict = {}


@app.callback()
def _main(home: Optional[Path] = typer.Option(None, "--home", help="Folder for the store and index "
                                                                     "(default $BUDGETKG_HOME or ~/.budgetkg)."),
          store: Optional[str] = typer.Option(None, "--store", help="Store backend: oxigraph, memory or sparql.")):
    _state["overrides"] = {"home": home, "store": store}


def get_settings() -> Settings:
    """The settings for this invocation (environment + global options)."""
    if "settings" not in _state:
        _state["settings"] = load_settings(**_state.get("overrides", {}))
    return _state["settings"]


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _open_store(read_only: bool = False):
    from api.service import store_from_settings

    return store_from_settings(get_settings(), read_only=read_only)


# ------------------------------------------------------------------ ingest


@app.command()
def ingest(paths: list[Path] = typer.Argument(None, help="Files or folders of disclosures (.txt .md .pdf .docx)."),
           samples: bool = typer.Option(False, "--samples", help="Ingest the bundled sample disclosures."),
           fmt: Optional[str] = typer.Option(None, "--format", help="Force the file format (text, pdf, docx)."),
           layout: Optional[str] = typer.Option(None, "--layout", help="Force the layout family "
                                                                       "(pdf-text, markdown-tsv, docx-text)."),
           index: bool = typer.Option(True, "--index/--no-index", help="Refresh the search index afterwards."),
           workers: Optional[int] = typer.Option(None, "--workers", min=1, max=64,
                                                 help="Processes parsing files in parallel (default: one per "
                                                      "core; 1 parses in this process).")):
    """Parse disclosures and store each as its own named graph (re-ingesting replaces it).

    Prints one line per file (ok on standard output, ERROR on standard error) and, on standard
    error, progress: a bar on a terminal, a line every few seconds otherwise. Runs while
    `budgetkg serve` is running: the server picks the new data up when the ingest is done."""
    from api.ingest_run import IngestOptions, default_workers, run_ingest
    from api.progress import Progress
    from api.service import ensure_ontology, expand_paths
    from search.graph_spool import GraphSpool
    from search.store import publish

    targets = list(paths or [])
    if samples:
        targets.append(SAMPLES_DIR)
    if not targets:
        fail("give files or folders to ingest, or --samples for the bundled sample disclosures")
    files = expand_paths(targets)
    missing = [str(p) for p in files if not p.exists()]
    settings = get_settings()
    try:
        store = _open_store()
        for graph in getattr(store, "recovered", []):
            typer.echo(f"warning: an earlier ingest stopped while writing {graph}; it was put back as "
                       "last published", err=True)
        ensure_ontology(store)
    except BudgetKGError as exc:
        fail(str(exc))
    for path in missing:
        typer.echo(f"ERROR {path}: no such file", err=True)
    present = [p for p in files if p.exists()]
    options = IngestOptions(fmt=fmt, layout=layout, max_bytes=settings.max_file_bytes,
                            workers=workers or default_workers())

    def report(outcome) -> None:
        typer.echo(outcome.summary(), err=not outcome.ok)

    # The graphs written are kept aside for the index refresh, which then need not read them
    # back from the store (search.graph_spool); removed when the refresh is done.
    spool = None
    if index:
        try:
            spool = GraphSpool(settings.index_path.parent)
        except OSError as exc:  # the refresh then reads the graphs from the store, as it can
            typer.echo(f"warning: no spool for the index refresh ({exc}); it reads the store instead", err=True)
    try:
        with Progress(len(present), label="ingest") as progress:
            result = run_ingest(store, present, options, spool=spool,
                                on_parsed=lambda doc: progress.advance(failed=doc.error is not None),
                                on_outcome=report)
        stored = result.stored
        failed = len(missing) + len(result.failed)
        timings = dict(result.timings)
        if index and stored:
            started = time.perf_counter()
            _refresh_index(store, settings, spool)
            timings["index_s"] = round(time.perf_counter() - started, 3)
    finally:
        if spool is not None:
            spool.close()
    try:
        started = time.perf_counter()
        generation = publish(store)
        timings["publish_s"] = round(time.perf_counter() - started, 3)
        store.close()
    except BudgetKGError as exc:
        fail(str(exc))
    if present:
        typer.echo(_timing_line(len(present), timings, generation), err=True)
    typer.echo(f"{len(stored)} disclosures stored, {failed} failed; store: {settings.store} "
               f"{settings.store_path if settings.store == 'oxigraph' else ''}".rstrip())
    if failed:
        raise typer.Exit(1)


def _refresh_index(store, settings: Settings, spool=None) -> None:
    from api.progress import ReportedProgress

    try:
        from search.index import refresh_after_ingest
    except ImportError:
        return
    try:
        with ReportedProgress("index") as progress:
            stats = refresh_after_ingest(store, settings.index_path, settings.embedding_model,
                                         settings.embedding_threads, settings.index_options(), spool=spool,
                                         progress=progress)
        typer.echo(f"search index refreshed: {stats}", err=True)
    except BudgetKGError as exc:
        typer.echo(f"warning: search index not refreshed: {exc}", err=True)


def _timing_line(files: int, timings: dict, generation: str | None) -> str:
    """Where the time went: parsing (summed over the workers), writing, index, in all."""
    total = timings.get("wall_s", 0.0) + timings.get("index_s", 0.0) + timings.get("publish_s", 0.0)
    parts = [f"parse {timings.get('parse_s', 0):.1f} s (in {timings.get('workers', 1)} processes)",
             f"write {timings.get('write_s', 0):.1f} s"]
    if "index_s" in timings:
        parts.append(f"index {timings['index_s']:.1f} s")
    rate = f", {files / total:.1f} files/s" if total > 0 else ""
    published = f"; published as generation {generation}" if generation else ""
    return f"timing: {', '.join(parts)}; {total:.1f} s in all{rate}{published}"


# ------------------------------------------------------------------ sparql / export


def _read_query(query: str) -> str:
    if query.startswith("@"):
        path = Path(query[1:])
        if not path.exists():
            fail(f"query file {path} not found")
        return path.read_text(encoding="utf-8")
    if query == "-":
        return sys.stdin.read()
    return query


def render_select(result, fmt: str) -> str:
    """A SELECT/ASK result as a text table, SPARQL JSON, CSV or TSV."""
    if fmt == "json":
        return json.dumps(result.to_json(), ensure_ascii=False, indent=2)
    if result.boolean is not None:
        return "true" if result.boolean else "false"
    if fmt in ("csv", "tsv"):
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(result.variables)
        for row in result.rows:
            writer.writerow([str(row.get(v, "")) for v in result.variables])
        return buffer.getvalue().rstrip("\n")
    rows = [[str(row.get(v, "")) for v in result.variables] for row in result.rows]
    widths = [max([_width(v)] + [_width(r[i]) for r in rows]) for i, v in enumerate(result.variables)]
    lines = [" | ".join(_pad(v, w) for v, w in zip(result.variables, widths)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(_pad(c, w) for c, w in zip(r, widths)) for r in rows]
    lines.append(f"({len(rows)} rows{', capped' if result.truncated else ''})")
    return "\n".join(lines)


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


@app.command()
def sparql(query: str = typer.Argument(..., help="A SPARQL 1.1 query, @file.rq, or - for standard input."),
           fmt: str = typer.Option("table", "--format", help="table, json (SPARQL 1.1 JSON results), csv or tsv; "
                                                             "CONSTRUCT/DESCRIBE print Turtle."),
           include_private: bool = typer.Option(False, "--include-private",
                                                help="Also query the private graphs (officials' names/phones).")):
    """Run a SPARQL query over the graph (default graph = union of the disclosures' graphs)."""
    if fmt not in ("table", "json", "csv", "tsv"):
        fail(f"unknown --format '{fmt}'; use table, json, csv or tsv")
    text = _read_query(query)
    try:
        store = _open_store(read_only=True)
        result = store.query(text, include_private=include_private)
    except BudgetKGError as exc:
        fail(str(exc))
    if result.graph is not None:
        typer.echo(result.graph.serialize(format="turtle"))
    else:
        typer.echo(render_select(result, fmt))


@app.command()
def export(fmt: str = typer.Option("ttl", "--format", help="ttl, nt, jsonld or trig (trig keeps the named graphs)."),
           output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
           include_private: bool = typer.Option(False, "--include-private",
                                                help="Include the private graphs (personal data).")):
    """Export the whole graph."""
    if fmt not in ("ttl", "nt", "jsonld", "trig"):
        fail(f"unknown --format '{fmt}'; use ttl, nt, jsonld or trig")
    from search.store import export_to_file

    try:
        store = _open_store(read_only=True)
        if output:
            # Written beside the target and renamed: a failed export leaves no half file.
            partial = output.with_name(f".{output.name}.partial")
            try:
                with open(partial, "wb") as fh:
                    export_to_file(store, fmt, fh, include_private=include_private)
                partial.replace(output)
            finally:
                partial.unlink(missing_ok=True)
            typer.echo(f"wrote {output.stat().st_size} bytes to {output}", err=True)
        else:
            export_to_file(store, fmt, sys.stdout.buffer, include_private=include_private)
            sys.stdout.buffer.flush()
    except BudgetKGError as exc:
        fail(str(exc))


# ------------------------------------------------------------------ check / info


@app.command()
def check(strict: bool = typer.Option(False, "--strict", help="Also exit non-zero when a disclosure has "
                                                                  "error-level accounting findings.")):
    """Validate the graph against the SHACL shapes and list the accounting findings."""
    from api.graph_checks import findings_table, validate_store

    try:
        store = _open_store(read_only=True)
        conforms, report = validate_store(store)
        rows = findings_table(store)
    except BudgetKGError as exc:
        fail(str(exc))
    typer.echo(f"SHACL: {'conforms' if conforms else 'DOES NOT CONFORM'}")
    if not conforms:
        typer.echo(report)
    errors = 0
    for row in rows:
        errors += row["severity"] == "error"
        typer.echo(f"{row['severity']:<7} {row['file']}:{row['lines']}  [{row['check']}] {row['message']}")
    typer.echo(f"{len(rows)} findings ({errors} errors)")
    if not conforms or (strict and errors):
        raise typer.Exit(1)


@app.command()
def info():
    """Counts of what the graph holds."""
    from api.graph_checks import counts

    try:
        store = _open_store(read_only=True)
        numbers = counts(store)
    except BudgetKGError as exc:
        fail(str(exc))
    for key, value in numbers.items():
        typer.echo(f"{key:<22} {value}")


def _register_optional() -> None:
    """Commands from other modules (search, serve, mcp) join the app if they are installed."""
    import importlib
    import importlib.util

    for module in ("api.cli_search", "api.cli_serve", "api.mcp_server"):
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module).register(app, get_settings)


_register_optional()


def main() -> None:
    try:
        app()
    except BudgetKGError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
