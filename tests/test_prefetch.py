"""Warming the page cache at start-up: which files, in which order, within which budget.

Whether the kernel then holds the pages is its business (and a figure of the scale benchmark's
cold start, not a unit test); here: the choice of files and the budget are right, and nothing a
changing index folder can do makes it fail."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from search.prefetch import available_memory_bytes, files_under, prefetch, prefetch_in_background


def _file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


@pytest.fixture
def folders(tmp_path):
    index = tmp_path / "index"
    big = _file(index / "ann" / "text-000001.faiss", 30_000)
    small = _file(index / "ann" / "text-000001.ids.npy", 1_000)
    mid = _file(index / "lexical" / "seg.store", 5_000)
    store = _file(tmp_path / "store" / "public" / "000010.sst", 20_000)
    os.symlink(big, index / "ann" / "link.faiss")
    return {"index": index, "store": tmp_path / "store", "big": big, "small": small, "mid": mid, "sst": store}


def test_files_come_folder_by_folder_smallest_first_without_links(folders):
    found = files_under([folders["index"], folders["store"] / "public", folders["index"] / "missing"])
    assert found == [folders["small"], folders["mid"], folders["big"], folders["sst"]]


def test_a_file_given_directly_is_taken_as_it_is(folders):
    assert files_under([folders["sst"], folders["index"] / "ann"]) == [folders["sst"], folders["small"], folders["big"]]


def test_the_budget_stops_at_what_fits_and_later_smaller_files_still_count(folders):
    paths = [folders["small"], folders["big"], folders["mid"], folders["sst"]]
    stats = prefetch(paths, budget_bytes=26_000)
    # small (1,000) + big (30,000) is over budget, so big is left out; mid and sst fit after it.
    assert stats["files"] == 3 and stats["bytes"] == 26_000 and stats["skipped_files"] == 1
    assert prefetch(paths, budget_bytes=10**9)["bytes"] == 56_000


def test_files_removed_meanwhile_are_skipped_not_fatal(folders):
    paths = files_under([folders["index"]])
    folders["mid"].unlink()  # an index generation collected between the listing and the advice
    stats = prefetch(paths, budget_bytes=10**9)
    assert stats["files"] == 2 and stats["skipped_files"] == 1


def test_a_share_of_zero_starts_nothing(folders):
    assert prefetch_in_background([folders["index"]], share=0) is None
    assert prefetch([folders["small"]], budget_bytes=0)["files"] == 0


@pytest.mark.skipif(available_memory_bytes() is None, reason="no /proc/meminfo on this system")
def test_the_background_thread_finishes_on_a_real_folder(folders):
    reports = []
    thread = prefetch_in_background([folders["index"], folders["store"]], share=0.5, report=reports.append)
    assert thread is not None and thread.daemon
    thread.join(10)
    assert not thread.is_alive()
    # Every regular file once (the symlink to the big one is not read twice).
    assert [(r["files"], r["bytes"], r["skipped_files"]) for r in reports] == [(4, 56_000, 0)]
