"""Published generations of the embedded store: what readers open instead of the primary.

RocksDB allows one writing process, and opening a store read-only while another process writes it
is undefined behaviour. So the writer (``budgetkg ingest``, an HTTP upload) publishes its work as a
checkpoint — ``Store.backup``, hard links to the immutable table files, milliseconds — and readers
(the web process, the SPARQL workers, CLI read commands) open only checkpoints::

    HOME/store/public/                   the primary stores (the writer's)
    HOME/store/private/
    HOME/store/snapshots/CURRENT         the current generation's name, replaced atomically
    HOME/store/snapshots/g000007/public  checkpoint of the primary public store
    HOME/store/snapshots/g000007/private

A generation never changes once published, so a reader sees every disclosure whole or not at all.
Old generations are pruned, keeping the last ``KEEP`` and any superseded less than ``GRACE_S``
ago, so a reader still inside a query on the previous generation is not cut off.

This module is light (pyoxigraph and the standard library only): the SPARQL worker processes
import it at start-up.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

SNAPSHOTS = "snapshots"
CURRENT = "CURRENT"
KEEP = 3
# A superseded generation stays at least this long: longer than a query's time limit plus the
# ~2 s readers take to notice the new one.
GRACE_S = 60.0
_NAME = re.compile(r"^g(\d{6,})$")


def snapshots_dir(store_path: str | Path) -> Path:
    return Path(store_path) / SNAPSHOTS


def current_generation(store_path: str | Path) -> str | None:
    """The name of the current generation, or None where nothing was published yet."""
    try:
        name = (snapshots_dir(store_path) / CURRENT).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if _NAME.match(name) else None


def current_snapshot(store_path: str | Path) -> Path | None:
    """The folder of the current generation (holding ``public`` and ``private``), or None."""
    name = current_generation(store_path)
    if name is None:
        return None
    folder = snapshots_dir(store_path) / name
    return folder if (folder / "public" / "CURRENT").exists() else None


def generations(store_path: str | Path) -> list[str]:
    """Names of the published generation folders, oldest first."""
    base = snapshots_dir(store_path)
    if not base.is_dir():
        return []
    found = [p.name for p in base.iterdir() if p.is_dir() and _NAME.match(p.name)]
    return sorted(found, key=lambda n: int(_NAME.match(n).group(1)))


def publish(public, private, store_path: str | Path) -> str:
    """Checkpoint the primary stores (pyoxigraph ``Store`` objects) as a new current generation.

    The checkpoint is made in a hidden folder and renamed into place, then CURRENT is replaced:
    a reader never finds a half-made generation. Returns the new generation's name.
    """
    base = snapshots_dir(store_path)
    base.mkdir(parents=True, exist_ok=True)
    for stale in base.glob(".tmp-*"):  # left by a publish that was killed midway
        shutil.rmtree(stale, ignore_errors=True)
    existing = generations(store_path)
    number = int(_NAME.match(existing[-1]).group(1)) + 1 if existing else 1
    name = f"g{number:06d}"
    staging = base / f".tmp-{name}-{os.getpid()}"
    staging.mkdir()
    try:
        public.flush()
        private.flush()
        public.backup(str(staging / "public"))
        private.backup(str(staging / "private"))
        os.rename(staging, base / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    pointer = base / f".{CURRENT}.{os.getpid()}"
    pointer.write_text(name + "\n", encoding="ascii")
    os.replace(pointer, base / CURRENT)
    prune(store_path)
    return name


def prune(store_path: str | Path, keep: int = KEEP, grace_s: float = GRACE_S) -> list[str]:
    """Delete old generations (never the current one); returns the names deleted."""
    names = generations(store_path)
    current = current_generation(store_path)
    base = snapshots_dir(store_path)
    now = time.time()
    deleted = []
    for i, name in enumerate(names[:-keep] if keep else names):
        if name == current:
            continue
        # The moment it stopped being current is when its successor was published.
        successor = base / names[i + 1]
        try:
            superseded_for = now - successor.stat().st_mtime
        except OSError:
            continue
        if superseded_for < grace_s:
            continue
        shutil.rmtree(base / name, ignore_errors=True)
        deleted.append(name)
    return deleted


def open_read_only(store_path: str | Path, *, private: bool = True):
    """Open the current generation read-only: ``(public, private or None, generation)``.

    A store made before snapshots existed has no generation: its primary is opened read-only
    instead (generation None). Raises ``OSError`` where neither can be opened.
    """
    import pyoxigraph as ox

    for attempt in range(3):
        name = current_generation(store_path)
        folder = snapshots_dir(store_path) / name if name else Path(store_path)
        try:
            public = ox.Store.read_only(str(folder / "public"))
            private_store = None
            if private and (folder / "private" / "CURRENT").exists():
                private_store = ox.Store.read_only(str(folder / "private"))
            return public, private_store, name
        except OSError:
            # Pruned between reading CURRENT and opening it (a reader asleep for minutes): retry
            # with the generation that is current now.
            if attempt == 2 or current_generation(store_path) == name:
                raise
    raise AssertionError("unreachable")
