"""A throwaway Virtuoso Open Source 7 server for tests (Debian package ``virtuoso-opensource``).

``virtuoso_server()`` starts one ``virtuoso-t`` per test session on 127.0.0.1 (free ports, its own
ini and database folder under a temporary directory), grants SPARQL update to the endpoint's
anonymous user "SPARQL", and stops it at exit; every Virtuoso test shares it (a server per test
would cost 3-6 s each). ``unavailable_reason()`` says why the tests must skip where the package is
not installed or the server does not come up.

The ini is the package's own (``/etc/virtuoso-opensource-7/virtuoso.ini``) with the ports, the
database paths and ``DirsAllowed`` changed, so the tests meet the limits a user of the package meets
(``ResultSetMaxRows = 10000`` among them), and one setting budgetkg asks of a Virtuoso it writes
to: ``DefaultIsolation = 4`` (repeatable read). At the default, read committed, a query that scans
a graph while an update replaces it can see part of the old and part of the new content (measured:
6 of 8,080 reads during continuous replacement; none of 7,091 at repeatable read). ``virtuoso-t`` keeps every inherited file
descriptor open, so it starts in its own session with stdin from /dev/null and nothing inherited:
otherwise a caller reading this process's output through a pipe would wait for it forever.

Run ``python -m tests.virtuoso_support`` to start one by hand; it prints the endpoint and waits.
"""
from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PACKAGE_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")
PACKAGE_DB = "/var/lib/virtuoso-opensource-7/db"
SERVER = shutil.which("virtuoso-t")
ISQL = shutil.which("isql-vt") or shutil.which("isql-v")
USER, PASSWORD = "dba", "dba"  # the package's default administrator, only ever on 127.0.0.1
# 4 = repeatable read (see above); BUDGETKG_TEST_VIRTUOSO_ISOLATION=2 shows what read committed does.
ISOLATION = int(os.environ.get("BUDGETKG_TEST_VIRTUOSO_ISOLATION", "4"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_ini(template: str, folder: Path, sql_port: int, http_port: int,
             settings: dict[str, dict[str, str | None]] | None = None) -> str:
    """The package's ini with this server's ports, database folder, DirsAllowed and isolation level,
    and ``settings`` ({section: {key: value}}) in place of the package's values (value None: the
    key left out)."""
    given, settings = settings or {}, {"Parameters": {"DefaultIsolation": str(ISOLATION)}}
    for section, values in given.items():  # merged per section: buffer sizes keep the isolation level
        settings[section] = {**settings.get(section, {}), **values}
    out, section = [], None
    for line in template.replace(PACKAGE_DB, str(folder)).splitlines():
        header = re.match(r"\s*\[(.+?)\]", line)
        if header:
            section = header.group(1)
            out += [line] + [f"{k} = {v}" for k, v in settings.get(section, {}).items() if v is not None]
            continue
        key = re.match(r"\s*;?\s*(\w+)\s*=", line)
        if key and key.group(1) in settings.get(section, {}):
            continue
        if re.match(r"\s*ServerPort\s*=", line):
            # [Parameters] is the SQL port, [HTTPServer] the web one; both only on the loopback.
            port = sql_port if section == "Parameters" else http_port
            line = f"ServerPort = 127.0.0.1:{port}"
        elif re.match(r"\s*DirsAllowed\s*=", line):
            line = f"{line.split(';')[0].rstrip()}, {folder}"
        out.append(line)
    return "\n".join(out) + "\n"


class VirtuosoServer:
    """One ``virtuoso-t`` process with its database in ``folder``."""

    def __init__(self, folder: Path, settings: dict[str, dict[str, str | None]] | None = None):
        self.folder = Path(folder)
        self.settings = settings
        self.sql_port, self.http_port = _free_port(), _free_port()
        self.sparql_url = f"http://127.0.0.1:{self.http_port}/sparql"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> "VirtuosoServer":
        self.folder.mkdir(parents=True, exist_ok=True)
        ini = self.folder / "virtuoso.ini"
        ini.write_text(make_ini(PACKAGE_INI.read_text(), self.folder, self.sql_port, self.http_port, self.settings))
        log = open(self.folder / "stdout.log", "wb")
        self.process = subprocess.Popen([SERVER, "-f", "-c", str(ini)], cwd=self.folder, stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT, close_fds=True,
                                        start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited with {self.process.returncode}: {self.log_tail()}")
            try:
                if httpx.post(self.sparql_url, data={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"virtuoso-t did not come online in {timeout:.0f} s: {self.log_tail()}")
            time.sleep(0.3)
        self.isql('GRANT SPARQL_UPDATE TO "SPARQL";')
        return self

    def isql(self, statement: str, timeout: float | None = 120) -> str:
        """Run one SQL statement as the administrator; returns isql's output. ``timeout=None``
        for the bulk loader on a large corpus (22 M quads take longer than two minutes)."""
        out = subprocess.run([ISQL, f"127.0.0.1:{self.sql_port}", USER, PASSWORD, f"exec={statement}"],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0 or "*** Error" in out.stdout + out.stderr:
            raise RuntimeError(f"isql failed on {statement!r}: {out.stdout[-1000:]} {out.stderr[-1000:]}")
        return out.stdout

    def clear(self, graph_prefix: str = "https://w3id.org/budgetkg/") -> None:
        """Drop every graph under ``graph_prefix`` (what budgetkg wrote), keeping Virtuoso's own."""
        rows = httpx.post(self.sparql_url, data={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"},
                          headers={"Accept": "application/sparql-results+json"}, timeout=120).json()
        for binding in rows["results"]["bindings"]:
            g = binding["g"]["value"]
            if g.startswith(graph_prefix):
                r = httpx.post(self.sparql_url, data={"update": f"DROP SILENT GRAPH <{g}>"}, timeout=120)
                r.raise_for_status()

    def log_tail(self) -> str:
        parts = []
        for name in ("stdout.log", "virtuoso.log"):
            path = self.folder / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-1500:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@functools.lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """Why Virtuoso tests cannot run here (None when they can); starts the server to find out."""
    if not SERVER or not ISQL:
        return "Virtuoso Open Source 7 is not installed (Debian package virtuoso-opensource: virtuoso-t, isql-vt)"
    if not PACKAGE_INI.exists():
        return f"{PACKAGE_INI} (the package's template configuration) is missing"
    try:
        virtuoso_server()
    except RuntimeError as exc:
        return f"virtuoso-t did not start: {str(exc)[:500]}"
    return None


def require_virtuoso() -> VirtuosoServer:
    """The session's server with budgetkg's graphs cleared, or a pytest skip saying why there is none."""
    import pytest

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = virtuoso_server()
    server.clear()
    return server


@functools.lru_cache(maxsize=1)
def virtuoso_server() -> VirtuosoServer:
    """The session's Virtuoso server (started on first use, stopped and removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="budgetkg-virtuoso-"))
    server = VirtuosoServer(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    atexit.register(server.stop)  # registered last, so it runs before the folder is removed
    try:
        return server.start()
    except RuntimeError:
        shutil.rmtree(folder, ignore_errors=True)
        raise


if __name__ == "__main__":  # python -m tests.virtuoso_support: a server to try things by hand
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so atexit stops the server
    s = virtuoso_server()
    print(f"SPARQL endpoint {s.sparql_url} (SQL port {s.sql_port}, folder {s.folder}); "
          "Ctrl-C or SIGTERM stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
