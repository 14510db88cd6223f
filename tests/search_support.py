"""Shared set-up for the search tests: the real seed disclosures ingested into an in-memory store,
topic-tagged, and indexed with the real embedding model, built once per test session.

Not a test module: ``test_embedder``, ``test_search``, ``test_topics``, ``test_qa`` and
``test_similar`` import it, so the model loads and the seeds are parsed only once.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "ingest" / "samples"
SEED_FILES = sorted(SAMPLES.glob("*.txt"))


def ingest_seeds(store, files=None):
    """Ingest seed files through the real pipeline; fails loudly if one does not parse."""
    from api.service import ingest_paths

    report = ingest_paths(store, files or SEED_FILES)
    bad = [o.error for o in report.failed]
    assert not bad, f"seed disclosures failed to ingest: {bad}"
    return report


@lru_cache(maxsize=1)
def seeded():
    """(store, index, index_dir): the five seeds, tagged and indexed (built once)."""
    from search.index import SearchIndex, refresh_after_ingest
    from search.store import open_store

    store = open_store("memory")
    ingest_seeds(store)
    index_dir = Path(tempfile.mkdtemp(prefix="budgetkg-test-index-"))
    atexit.register(shutil.rmtree, index_dir, True)
    refresh_after_ingest(store, index_dir, "use-multilingual", 1)
    index = SearchIndex.open(store, index_dir, "use-multilingual", 1)
    return store, index, index_dir
