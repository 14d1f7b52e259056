"""The verdict cache: round trip, no unknowns, thread safety, survival of a corrupt file."""

from __future__ import annotations

import logging
import sqlite3
import threading

import pytest

from proofsmith import verdict_cache
from proofsmith.schema import Limits, Manifest, PartialCredit, Verdict
from proofsmith.verdict_cache import VerdictCache, default_cache


def _verdict(status: str = "verified", reason: str | None = None, task_id: str = "t1") -> Verdict:
    return Verdict(
        task_id=task_id,
        candidate_id="c1",
        status=status,
        reason=reason,
        reward=1.0 if status == "verified" else 0.0,
        partial=PartialCredit(passed=3, total=3 if status == "verified" else 4),
        wall_s=0.25,
        manifest=Manifest(checker="python", checker_version="1", proofsmith_version="0.1.0",
                          limits=Limits(), sandbox="bwrap", isolation=["userns"]),
    )


def test_round_trip_marks_cached(tmp_path):
    cache = VerdictCache(tmp_path / "v.sqlite")
    original = _verdict()
    assert cache.get("k1") is None
    cache.put("k1", original)
    hit = cache.get("k1")
    assert hit is not None
    assert hit.cached is True
    assert hit.cache_key == "k1"
    assert hit.model_dump(exclude={"cached", "cache_key"}) == original.model_dump(exclude={"cached", "cache_key"})
    assert cache.get("k2") is None


def test_persists_across_instances_and_uses_wal(tmp_path):
    path = tmp_path / "v.sqlite"
    first = VerdictCache(path)
    first.put("k", _verdict("refuted", "tests_failed"))
    first.close()
    hit = VerdictCache(path).get("k")
    assert hit is not None and hit.status == "refuted" and hit.reason == "tests_failed"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        (created,) = conn.execute("SELECT created FROM verdicts WHERE key = 'k'").fetchone()
    assert created > 0


def test_unknown_verdicts_are_not_stored(tmp_path):
    cache = VerdictCache(tmp_path / "v.sqlite")
    cache.put("k", _verdict("unknown", "timeout"))
    assert cache.get("k") is None


def test_a_later_verdict_replaces_an_earlier_one(tmp_path):
    cache = VerdictCache(tmp_path / "v.sqlite")
    cache.put("k", _verdict("refuted", "tests_failed"))
    cache.put("k", _verdict("verified"))
    assert cache.get("k").status == "verified"


def test_threads_share_one_cache(tmp_path):
    cache = VerdictCache(tmp_path / "v.sqlite")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                key = f"{n}-{i}"
                cache.put(key, _verdict(task_id=key))
                assert cache.get(key).task_id == key
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache.enabled
    cache.close()  # the connections belong to the finished threads
    assert cache.get("3-24").task_id == "3-24"
    with sqlite3.connect(tmp_path / "v.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM verdicts").fetchone()[0] == 100


def test_corrupt_file_warns_once_and_runs_uncached(tmp_path, caplog):
    path = tmp_path / "v.sqlite"
    path.write_bytes(b"this is not an sqlite database" * 100)
    cache = VerdictCache(path)
    with caplog.at_level(logging.WARNING, logger=verdict_cache.__name__):
        assert cache.get("k") is None
        cache.put("k", _verdict())
        assert cache.get("k") is None
    assert not cache.enabled
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "\n" not in message and str(path) in message and "uncached" in message


def test_row_from_an_older_schema_is_a_miss(tmp_path):
    path = tmp_path / "v.sqlite"
    cache = VerdictCache(path)
    cache.put("k", _verdict())
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE verdicts SET verdict = '{\"status\": \"verified\"}' WHERE key = 'k'")
    assert cache.get("k") is None
    assert cache.enabled


def test_default_cache_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PROOFSMITH_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.delenv("PROOFSMITH_NO_CACHE", raising=False)
    cache = default_cache()
    assert cache is not None
    assert cache.path == tmp_path / "c" / "verdicts.sqlite"
    assert default_cache() is cache
    cache.put("k", _verdict())
    assert (tmp_path / "c" / "verdicts.sqlite").exists()
    monkeypatch.setenv("PROOFSMITH_NO_CACHE", "1")
    assert default_cache() is None
    monkeypatch.setenv("PROOFSMITH_NO_CACHE", "0")
    assert default_cache() is cache


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_no_cache_values(monkeypatch, value):
    monkeypatch.setenv("PROOFSMITH_NO_CACHE", value)
    assert default_cache() is None
