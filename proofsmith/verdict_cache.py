"""Content-addressed cache of verdicts, so an unchanged check never runs twice.

Keys come from `schema.cache_key` (task, candidate text and checker manifest),
values are `Verdict` JSON, stored in one SQLite table in WAL mode so several
threads and processes can read while one writes. The cache is a speed-up
only: any trouble with the database file turns it off for the process with one
warning line, and the check runs uncached.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

import platformdirs
from pydantic import ValidationError

from proofsmith.schema import Verdict

#: Environment variable naming the cache directory (default: the user cache dir).
ENV_DIR = "PROOFSMITH_CACHE_DIR"
#: Environment variable that turns the cache off when set to a true value.
ENV_OFF = "PROOFSMITH_NO_CACHE"
#: File name of the database inside the cache directory.
DB_NAME = "verdicts.sqlite"
#: How long a reader or writer waits for another process's lock before giving up.
_BUSY_TIMEOUT_S = 30.0

_log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def cache_dir() -> Path:
    """The directory the default cache lives in (`$PROOFSMITH_CACHE_DIR` wins)."""
    override = os.environ.get(ENV_DIR)
    return Path(override) if override else Path(platformdirs.user_cache_dir("proofsmith"))


def cache_disabled() -> bool:
    """Whether `$PROOFSMITH_NO_CACHE` asks for no cache."""
    return os.environ.get(ENV_OFF, "").strip().lower() not in ("", "0", "false", "no")


class VerdictCache:
    """A verdict cache in one SQLite file, safe to share between threads.

    Each thread gets its own connection (sqlite3 connections must not cross
    threads); SQLite's own locking, with a busy timeout, orders the writers.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._broken = False
        self._ready = False
        self._warned = False

    @property
    def enabled(self) -> bool:
        """False once the database failed and the cache turned itself off."""
        return not self._broken

    def get(self, key: str) -> Verdict | None:
        """The stored verdict for `key`, marked `cached=True`, or None on a miss."""
        conn = self._connection()
        if conn is None:
            return None
        try:
            row = conn.execute("SELECT verdict FROM verdicts WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            self._fail(exc)
            return None
        if row is None:
            return None
        try:
            verdict = Verdict.model_validate_json(row[0])
        except ValidationError:
            # Written by an older schema: a miss, and the fresh verdict replaces it.
            return None
        return verdict.model_copy(update={"cached": True, "cache_key": key})

    def put(self, key: str, verdict: Verdict) -> None:
        """Store `verdict` under `key`; `unknown` verdicts are transient and skipped."""
        if verdict.status == "unknown":
            return
        conn = self._connection()
        if conn is None:
            return
        blob = verdict.model_copy(update={"cached": False, "cache_key": key}).model_dump_json()
        try:
            with conn:
                conn.execute(
                    "INSERT OR REPLACE INTO verdicts (key, verdict, created) VALUES (?, ?, ?)",
                    (key, blob, time.time()),
                )
        except sqlite3.Error as exc:
            self._fail(exc)

    def close(self) -> None:
        """Close every thread's connection (later calls reopen as needed)."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._local = threading.local()

    def _connection(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            with self._lock:
                if not self._ready:
                    self._initialise()
            # Used by its own thread only; `close` may come from another, hence no same-thread check.
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            self._fail(exc)
            return None
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    def _initialise(self) -> None:
        """Create the directory, table and WAL journal once per process (under `_lock`)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S)
        try:
            # Switching to WAL needs an exclusive lock and can fail at once with "locked"
            # when another process opens the cache at the same moment, timeout or not.
            for attempt in range(50):
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc) or attempt == 49:
                        raise
                    time.sleep(0.02)
            with conn:
                conn.execute(_SCHEMA)
        finally:
            conn.close()
        self._ready = True

    def _fail(self, exc: Exception) -> None:
        # A locked database is another writer holding on too long: skip this call, keep the cache.
        transient = isinstance(exc, sqlite3.OperationalError) and _is_busy(exc)
        with self._lock:
            if not transient:
                self._broken = True
            if self._warned:
                return
            self._warned = True
        if transient:
            _log.warning("proofsmith: warning: verdict cache %s is busy (%s); some checks ran uncached", self.path, exc)
        else:
            _log.warning(
                "proofsmith: warning: verdict cache %s unusable (%s); running uncached "
                "(delete the file, or set %s=1)", self.path, exc, ENV_OFF,
            )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


_DEFAULTS: dict[Path, VerdictCache] = {}
_DEFAULTS_LOCK = threading.Lock()


def default_cache() -> VerdictCache | None:
    """The process-wide cache in `cache_dir()`, or None when `$PROOFSMITH_NO_CACHE` is set."""
    if cache_disabled():
        return None
    path = cache_dir() / DB_NAME
    with _DEFAULTS_LOCK:
        cache = _DEFAULTS.get(path)
        if cache is None:
            cache = _DEFAULTS[path] = VerdictCache(path)
    return cache
