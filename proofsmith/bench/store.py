"""The result store of a run: one SQLite file per run directory (WAL mode), one row per finished job.

Each job's result is written in one transaction keyed by its job id (UNIQUE),
so a run killed at any moment (kill -9 included) loses at most the jobs that
were still running, and a resumed run never writes a job twice. Only the
driver writes (executors stream results back to it). A `meta` row holds the
schema version: a store written by another version is refused with a message
saying what to do, never read half-right. The spec and the jobs are stored
too, so `bench report` and `bench run --resume` need nothing but the directory.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

from proofsmith import __version__
from proofsmith.bench.jobs import Job, JobResult
from proofsmith.bench.spec import RunSpec

#: bump when the tables change; a store of another version is refused
SCHEMA_VERSION = 1
FILENAME = "bench.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, suite TEXT NOT NULL, task_id TEXT NOT NULL, language TEXT NOT NULL,
    config TEXT NOT NULL, seed INTEGER NOT NULL, job TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    job_id TEXT NOT NULL UNIQUE REFERENCES jobs(job_id), outcome TEXT NOT NULL, result TEXT NOT NULL,
    finished_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS crashes (job_id TEXT PRIMARY KEY, count INTEGER NOT NULL, reason TEXT NOT NULL);
"""


class StoreError(Exception):
    """A store that cannot be used (another version, another spec, not a store); one line saying what to do."""


class Store:
    """The SQLite store of one run directory."""

    def __init__(self, run_dir: str | Path, *, create: bool) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / FILENAME
        if not create and not self.path.is_file():
            raise StoreError(f"{self.run_dir}: no run here (no {FILENAME}); start one with `proofsmith bench run SPEC`")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed result survives a power cut too, not only a killed process
            self.db.execute("PRAGMA synchronous=FULL")
            self._check_version()
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a proofsmith bench store ({exc})") from None
        with self._tx():
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('proofsmith_version', ?)", (__version__,))
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('created_at', ?)", (str(time.time()),))

    def _check_version(self) -> None:
        has_meta = self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        if not has_meta:
            tables = self.db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
            if tables:
                raise StoreError(f"{self.path}: not a proofsmith bench store (no meta table); "
                                 "use another run directory")
            return
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        found = row[0] if row else "none"
        if found != str(SCHEMA_VERSION):
            made = self.db.execute("SELECT value FROM meta WHERE key='proofsmith_version'").fetchone()
            by = f" by proofsmith {made[0]}" if made else ""
            raise StoreError(f"{self.path}: store schema version {found}{by}, this proofsmith {__version__} reads "
                             f"version {SCHEMA_VERSION}; report it with that proofsmith version, or start a new run "
                             f"in another directory")

    def _tx(self):
        return _Transaction(self.db)

    # ------------------------------------------------------------------------------------------ spec and jobs

    def spec(self) -> RunSpec | None:
        """The spec this run was started with (None before `set_spec`)."""
        row = self.db.execute("SELECT value FROM meta WHERE key='spec'").fetchone()
        return RunSpec.model_validate_json(row[0]) if row else None

    def set_spec(self, spec: RunSpec) -> None:
        """Record the spec; StoreError if the run was started with a different one."""
        old = self.spec()
        if old is not None:
            if old != spec:
                raise StoreError(f"{self.run_dir} holds a run of a different spec ({old.name!r}); resume it "
                                 f"with `proofsmith bench run --resume --out {self.run_dir}`, or use another --out")
            return
        with self._tx():
            self.db.execute("INSERT INTO meta VALUES ('spec', ?)", (spec.model_dump_json(),))

    def add_jobs(self, jobs: list[Job]) -> None:
        """Record the jobs (those already there are kept)."""
        with self._tx():
            self.db.executemany(
                "INSERT OR IGNORE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(j.id, j.suite, j.task_id, j.language, j.config.label, j.seed, j.model_dump_json()) for j in jobs])

    def jobs(self) -> list[Job]:
        """Every job of the run, in the order they were added."""
        return [Job.model_validate_json(r[0]) for r in self.db.execute("SELECT job FROM jobs ORDER BY rowid")]

    # ------------------------------------------------------------------------------------------ results

    def record(self, result: JobResult) -> bool:
        """Write one job's result in one transaction; False if the job already had one (it is kept)."""
        with self._tx():
            cur = self.db.execute("INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?)",
                                  (result.job_id, result.outcome, result.model_dump_json(), time.time()))
            return cur.rowcount == 1

    def done_ids(self) -> set[str]:
        """Ids of the jobs that have a result."""
        return {r[0] for r in self.db.execute("SELECT job_id FROM results")}

    def results(self) -> dict[str, JobResult]:
        """Every result, by job id."""
        rows = self.db.execute("SELECT job_id, result FROM results")
        return {job_id: JobResult.model_validate_json(blob) for job_id, blob in rows}

    def count_results(self) -> int:
        """How many jobs have a result."""
        return self.db.execute("SELECT count(*) FROM results").fetchone()[0]

    def record_crash(self, job_id: str, reason: str) -> int:
        """Count one death of a job's worker; how many times it has died now."""
        with self._tx():
            self.db.execute("INSERT INTO crashes VALUES (?, 1, ?) ON CONFLICT(job_id) DO UPDATE SET "
                            "count = count + 1, reason = excluded.reason", (job_id, reason))
            return self.db.execute("SELECT count FROM crashes WHERE job_id = ?", (job_id,)).fetchone()[0]

    def crashes(self, job_id: str) -> int:
        """How many times the job's worker has died."""
        row = self.db.execute("SELECT count FROM crashes WHERE job_id = ?", (job_id,)).fetchone()
        return row[0] if row else 0

    def meta(self) -> dict[str, str]:
        """The meta rows (schema and proofsmith version, creation time, spec)."""
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def close(self) -> None:
        """Close the connection (WAL contents are checkpointed)."""
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def iter_rows(store: Store) -> Iterator[tuple[Job, JobResult]]:
    """(job, result) for every job that has a result, in job order."""
    results = store.results()
    for job in store.jobs():
        if job.id in results:
            yield job, results[job.id]
