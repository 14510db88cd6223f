"""Progress of long work on the command line: documents done of the total, documents per second
and the time left.

On a terminal it is a progress bar (rich, which comes with typer), drawn on standard error;
lines printed to standard output meanwhile appear above it. Anywhere else (a pipe, a log file,
a CI job) it is a plain line on standard error every ``every_docs`` documents or ``every_s``
seconds, whichever comes first, and one at the end — nothing that fills a log with redraws.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Count documents as they are done; use as a context manager.

    ``interactive=None`` decides by whether ``stream`` is a terminal."""

    def __init__(self, total: int, *, label: str = "ingest", stream: TextIO | None = None,
                 interactive: bool | None = None, every_docs: int | None = None, every_s: float = 5.0):
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.every_docs = every_docs or max(10, total // 20)
        self.every_s = every_s
        self.done = 0
        self.failed = 0
        self._started = time.monotonic()
        self._last_line = (0, self._started)  # documents and time of the last plain line
        self._bar = None
        self._task = None

    def __enter__(self) -> "Progress":
        self._started = time.monotonic()
        self._last_line = (0, self._started)
        if self.interactive and self.total:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                       TimeRemainingColumn)

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[rate]}"), TextColumn("ETA"), TimeRemainingColumn(),
                                     console=Console(file=self.stream), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, rate="")
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.done / elapsed if elapsed > 0 else 0.0

    def status(self) -> str:
        """``ingest: 120/1000 documents (12%), 6.1 docs/s, ETA 2m24s``."""
        share = f" ({self.done * 100 // self.total}%)" if self.total else ""
        rate = self.rate
        eta = f", ETA {format_duration((self.total - self.done) / rate)}" if rate > 0 and self.done < self.total else ""
        failed = f", {self.failed} failed" if self.failed else ""
        return f"{self.label}: {self.done}/{self.total} documents{share}{failed}, {rate:.1f} docs/s{eta}"

    def advance(self, n: int = 1, *, failed: bool = False) -> None:
        self.done += n
        self.failed += n if failed else 0
        if self._bar is not None:
            self._bar.update(self._task, advance=n, rate=f"{self.rate:.1f} docs/s")
            return
        now = time.monotonic()
        docs, at = self._last_line
        if self.done - docs >= self.every_docs or now - at >= self.every_s:
            self._line(now)

    def _line(self, now: float) -> None:
        self._last_line = (self.done, now)
        print(self.status(), file=self.stream, flush=True)

    def close(self) -> None:
        """Remove the bar, and say where the work ended (once)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._line(time.monotonic())
        elif self._last_line[0] != self.done or self.done == 0:
            self._line(time.monotonic())


class ReportedProgress:
    """A ``progress(done, total)`` callback, as the search index's refresh reports its graphs,
    shown as a ``Progress`` whose total is learnt from the first call. Nothing is shown when the
    callback is never called (a refresh with nothing to do); use as a context manager."""

    def __init__(self, label: str, **options):
        self.label = label
        self.options = options
        self._progress: Progress | None = None

    def __enter__(self) -> "ReportedProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            self._progress = Progress(total, label=self.label, **self.options).__enter__()
        self._progress.advance(done - self._progress.done)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.close()
            self._progress = None
