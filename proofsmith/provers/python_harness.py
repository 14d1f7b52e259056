"""The in-sandbox half of the Python checker (standard library only).

This file is copied into the sandbox and run by the candidate interpreter in
one of two roles, each in its own sandboxed process with its own uid:

- `serve`: loads one program (the candidate, or the reference) and answers
  call requests on a pipe: `{"op": "call"|"time", "args": [...], ...}`
  ("time" also reports the in-process CPU time of the call).
- `judge`: runs the task's tests, where `candidate` is a proxy that sends each
  call down the pipe and decodes the answer. The report goes to a file
  descriptor of the judge's own, which the candidate process has no handle on
  (not stdout: test code may print the candidate's answers there).

Values cross the pipe as tagged JSON (`encode`/`decode`): only plain data of
exact built-in types, so a candidate cannot smuggle an object whose `__eq__`
always answers True, and the judge never unpickles candidate bytes. A
message is at most MAX_MESSAGE bytes and MAX_VALUES JSON values, so that no
answer can grow the judge past its memory.

The judge keeps the candidate's wall-clock budget itself (`budget_s` in its
spec): when it runs out, wherever the judge is (waiting on the candidate or
running the tests), it stops and reports `timed_out`, with the run-queue
delay of its own threads, so that the checker can tell a candidate that took
too long (refuted) from a machine too loaded to give it its time (unknown).
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import reprlib
import select
import signal
import sys
import time
from fractions import Fraction

#: the largest message accepted on a pipe; a candidate's answer past this counts as no answer
MAX_MESSAGE = 16 << 20
#: the most JSON values (containers and scalars) in one message: what bounds the judge's memory
#: for a message of MAX_MESSAGE bytes (millions of `[]` would be gigabytes of lists)
MAX_VALUES = 1 << 20
_SCALARS = (type(None), bool, int, str)
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')


class Unencodable(TypeError):
    """A value of a type the protocol does not carry."""


def encode(value, depth: int = 0):
    """Tagged-JSON form of plain data; raises `Unencodable` for anything else."""
    if depth > 200:
        raise Unencodable("value nested too deeply")
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        return value if math.isfinite(value) else {"__t": "float", "v": repr(value)}
    if kind is list:
        return [encode(v, depth + 1) for v in value]
    if kind is tuple:
        return {"__t": "tuple", "v": [encode(v, depth + 1) for v in value]}
    if kind is dict:
        return {"__t": "dict", "v": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if kind is set or kind is frozenset:
        return {"__t": kind.__name__, "v": [encode(v, depth + 1) for v in value]}
    if kind is bytes:
        return {"__t": "bytes", "v": value.hex()}
    if kind is complex:
        return {"__t": "complex", "v": [repr(value.real), repr(value.imag)]}
    raise Unencodable(f"cannot return a value of type {kind.__name__}")


def decode(data):
    """Inverse of `encode`."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    tag, v = data.get("__t"), data.get("v")
    if tag == "float":
        return float(v)
    if tag == "tuple":
        return tuple(decode(x) for x in v)
    if tag == "dict":
        return {_hashable(decode(k)): decode(x) for k, x in v}
    if tag == "set":
        return {_hashable(decode(x)) for x in v}
    if tag == "frozenset":
        return frozenset(_hashable(decode(x)) for x in v)
    if tag == "bytes":
        return bytes.fromhex(v)
    if tag == "complex":
        return complex(float(v[0]), float(v[1]))
    raise ValueError(f"unknown tag {tag!r}")


def _hashable(value):
    if isinstance(value, list):
        raise ValueError("unhashable key")
    return value


def _json_values(line: bytes) -> int:
    """How many JSON values `line` holds at most (an upper bound, exact enough to cap memory)."""
    count = line.count(b",") + line.count(b"[") + line.count(b"{") + 1
    if count <= MAX_VALUES:
        return count
    # commas and brackets inside strings are no values: count again without the strings
    bare = _STRINGS.sub(b'""', line)
    return bare.count(b",") + bare.count(b"[") + bare.count(b"{") + 1


class Channel:
    """Newline-delimited JSON over a pair of pipe fds, with a size cap and timeouts.

    `recv` answers None for anything but a message; `problem` then says why
    (None for a timeout or EOF), and `in_sync` whether the next message can
    still be read (false after a line longer than MAX_MESSAGE).
    """

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd
        self._buf = bytearray()
        self._scanned = 0
        self.problem: str | None = None
        self.in_sync = True
        #: true while `recv` waits on the peer (left true when an exception, the judge's alarm, ends the wait)
        self.waiting = False

    def send(self, message) -> None:
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        view = memoryview(data)
        while view:
            view = view[os.write(self.write_fd, view):]

    def recv(self, timeout: float | None = None):
        """The next message, or None on EOF / timeout / garbage / oversize (see `problem`)."""
        self.problem = None
        if not self.in_sync:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        self.waiting = True
        while (end := self._buf.find(b"\n", self._scanned)) < 0:
            self._scanned = len(self._buf)
            if len(self._buf) > MAX_MESSAGE:
                self.waiting, self.in_sync = False, False
                self.problem = f"a message longer than {MAX_MESSAGE} bytes"
                return None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                    self.waiting = False
                    return None
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                self.waiting = False
                return None
            self._buf += chunk
        self.waiting = False
        line = bytes(self._buf[:end])
        del self._buf[:end + 1]
        self._scanned = 0
        if len(line) > MAX_MESSAGE:
            self.problem = f"a message longer than {MAX_MESSAGE} bytes"
            return None
        if _json_values(line) > MAX_VALUES:
            self.problem = f"a message of more than {MAX_VALUES} JSON values"
            return None
        try:
            message = json.loads(line)
        except Exception:  # noqa: BLE001 - garbage (even nested deep enough to recurse) is no message
            self.problem = "a message that is not JSON"
            return None
        if not isinstance(message, dict):
            self.problem = "a message that is not a JSON object"
            return None
        return message


# ---------------------------------------------------------------- serve role


def serve(read_fd: int, write_fd: int, source_path: str, entry_point: str) -> None:
    """Load the program at `source_path` and answer call/time requests forever."""
    # Bind what the protocol needs before the program runs, so that patching
    # builtins or modules from the program cannot change how answers are sent.
    chan = Channel(read_fd, write_fd)
    cpu_ns = time.process_time_ns
    enc = encode
    dec = decode
    chan.send({"hello": True})
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        with open(source_path) as fh:
            code = compile(fh.read(), "candidate.py", "exec")
        exec(code, namespace)
        func = namespace.get(entry_point)
        if not callable(func):
            raise NameError(f"the program does not define a function {entry_point!r}")
    except BaseException as exc:  # noqa: BLE001 - any failure to load is the program's
        chan.send({"loaded": False, "error": f"{type(exc).__name__}: {exc}"[:2000], "line": _line_of(exc)})
        return
    chan.send({"loaded": True})
    while True:
        req = chan.recv()
        if req is None:
            return
        try:
            args = dec(req.get("args", []))
            kwargs = dec(req.get("kwargs", {"__t": "dict", "v": []}))
            if req.get("op") == "time":
                # Nothing but the call between request and reply: the supervisor's
                # clock (the slot cgroup's CPU counter) runs over this whole window.
                start = cpu_ns()
                value = func(*args, **kwargs)
                elapsed = cpu_ns() - start
                chan.send({"ok": True, "time_ns": elapsed, "value": enc(value)})
            else:
                chan.send({"ok": True, "value": enc(func(*args, **kwargs))})
        except BaseException as exc:  # noqa: BLE001
            chan.send({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]})


def _line_of(exc: BaseException) -> int | None:
    if isinstance(exc, SyntaxError):
        return exc.lineno
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "candidate.py":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


# ---------------------------------------------------------------- judge role


class CandidateDied(Exception):
    """The candidate process closed its pipe (crashed, exited or was killed)."""


class CandidateError(Exception):
    """The candidate raised an exception or returned an unsupported value."""


class Proxy:
    """Stands in for the candidate function inside the test code."""

    def __init__(self, chan: Channel, call_timeout: float | None) -> None:
        self._chan = chan
        self._timeout = call_timeout
        self.dead = False
        self.calls = 0

    def __call__(self, *args, **kwargs):
        if self.dead:
            raise CandidateDied("the candidate process is gone")
        self.calls += 1
        try:
            payload = {"op": "call", "args": encode(list(args)), "kwargs": encode(dict(kwargs))}
        except Unencodable as exc:
            raise CandidateError(f"test passes an unsupported argument: {exc}") from None
        try:
            self._chan.send(payload)
        except OSError:
            self.dead = True
            raise CandidateDied("the candidate process is gone") from None
        reply = self._chan.recv(self._timeout)
        if reply is None:
            if self._chan.problem and self._chan.in_sync:
                raise CandidateError(f"answered with {self._chan.problem}")
            self.dead = True
            raise CandidateDied(f"the candidate answered with {self._chan.problem}" if self._chan.problem
                                else "the candidate process is gone")
        if not reply.get("ok"):
            raise CandidateError(str(reply.get("error", "error"))[:2000])
        try:
            return decode(reply.get("value"))
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise CandidateError(f"malformed answer: {exc}") from None


class _Record:
    def __init__(self) -> None:
        self.passed = 0
        self.total = 0
        self.failures: list[dict] = []

    def fail(self, line, message: str) -> None:
        self.total += 1
        if len(self.failures) < 20:
            self.failures.append({"line": line, "message": message[:1000]})


class _AssertCounter(ast.NodeTransformer):
    """Rewrites `assert X, M` into `__ps_assert__(lambda: X, line, "X")` so each assert counts."""

    def __init__(self, source: str) -> None:
        self.source = source

    def visit_Assert(self, node: ast.Assert):
        text = ast.get_source_segment(self.source, node.test) or "assertion"
        call = ast.Expr(
            ast.Call(
                func=ast.Name("__ps_assert__", ast.Load()),
                args=[
                    ast.Lambda(
                        ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
                        node.test,
                    ),
                    ast.Constant(node.lineno),
                    ast.Constant(text[:300]),
                ],
                keywords=[],
            )
        )
        return ast.copy_location(call, node)


class BudgetSpent(BaseException):
    """The candidate's wall-clock budget ran out (raised by the judge's alarm, wherever the judge is).

    A BaseException, so that no `except Exception` in the tests swallows it.
    """


def _ring(signum, frame) -> None:
    raise BudgetSpent


def _own_run_delay_s() -> float | None:
    """Seconds this process's threads waited for a CPU (the kernel's schedstat), None where it keeps none."""
    total, seen = 0, False
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as fh:
                total += int(fh.read().split()[1])
            seen = True
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9 if seen else None


def judge(read_fd: int, write_fd: int, spec_path: str) -> dict:
    """Run the tests in `spec_path` against the candidate on the pipe; return the report."""
    started = time.monotonic()
    with open(spec_path) as fh:
        spec = json.load(fh)
    chan = Channel(read_fd, write_fd)
    record = _Record()
    report = {"hello": False, "loaded": False, "load_error": None, "load_line": None, "died": False,
              "timed_out": None, "passed": 0, "total": 0, "failures": []}
    signal.signal(signal.SIGALRM, _ring)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, spec["budget_s"] - (time.monotonic() - started)))
    try:
        _judge(spec, chan, record, report)
    except BudgetSpent:
        # where the budget ran out: waiting on the candidate, or in the judge's own work (the tests)
        report["timed_out"] = "candidate" if chan.waiting else "tests"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    report.update(passed=record.passed, total=record.total, failures=record.failures,
                  run_delay_s=_own_run_delay_s())
    return report


def _judge(spec: dict, chan: Channel, record: _Record, report: dict) -> None:
    hello = chan.recv()
    if not hello or not hello.get("hello"):
        return
    report["hello"] = True
    loaded = chan.recv()
    if loaded is None:
        report["died"] = True
        report["load_error"] = (f"the program answered with {chan.problem} while loading" if chan.problem
                                else "the program exited or crashed while loading")
    elif not loaded.get("loaded"):
        report["load_error"] = str(loaded.get("error"))
        report["load_line"] = loaded.get("line")
    if not report["load_error"]:
        report["loaded"] = True
        proxy = Proxy(chan, None)
        try:
            _run_io_tests(spec, proxy, record)
            if spec.get("test_code"):
                _run_test_code(spec, proxy, record)
        finally:
            report["died"] = proxy.dead


_SHOW = reprlib.Repr()
_SHOW.maxstring = _SHOW.maxother = 200
_SHOW.maxlong = 60


def _show(value) -> str:
    """A short repr of a value that may be huge (a candidate's answer)."""
    try:
        return _SHOW.repr(value)
    except Exception:  # noqa: BLE001 - a repr that fails is still a value to name
        return f"<{type(value).__name__}>"


def _run_io_tests(spec: dict, proxy: Proxy, record: _Record) -> None:
    for index, test in enumerate(spec.get("io_tests", [])):
        label = f"io_tests[{index}]"
        try:
            got = proxy(*decode(test["args"]), **decode(test["kwargs"]))
        except (CandidateDied, CandidateError) as exc:
            record.fail(label, f"{label}: {exc}")
            continue
        expected = decode(test["expected"])
        try:
            same = values_equal(got, expected, test.get("atol", 0.0))
        except Exception as exc:  # noqa: BLE001 - an answer the comparison cannot take is a wrong answer
            record.fail(label, f"{label}: expected {_show(expected)}, got {_show(got)} ({type(exc).__name__})")
            continue
        if same:
            record.passed += 1
            record.total += 1
        else:
            record.fail(label, f"{label}: expected {_show(expected)}, got {_show(got)}")


def _is_number(value) -> bool:
    return type(value) in (int, float)


def values_equal(got, expected, atol: float) -> bool:
    """Exact-type equality; numbers compare across int/float, within `atol` if set."""
    if _is_number(got) and _is_number(expected):
        if got == expected or not atol:
            return got == expected
        try:
            return math.isclose(got, expected, abs_tol=atol, rel_tol=0.0)
        except OverflowError:  # an int past float's range: compare exactly
            try:
                return abs(Fraction(got) - Fraction(expected)) <= Fraction(atol)
            except (OverflowError, ValueError):  # inf or nan on one side: never within atol of an int
                return False
    if type(got) is not type(expected):
        return False
    if atol and type(got) in (list, tuple):
        return len(got) == len(expected) and all(values_equal(g, e, atol) for g, e in zip(got, expected))
    return got == expected


def _run_test_code(spec: dict, proxy: Proxy, record: _Record) -> None:
    source = spec["test_code"]
    tree = _AssertCounter(source).visit(ast.parse(source, "test.py"))
    ast.fix_missing_locations(tree)

    def ps_assert(thunk, line: int, text: str) -> None:
        try:
            ok = thunk()
        except (CandidateDied, CandidateError) as exc:
            record.fail(line, f"line {line}: {text}: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - an error inside an assertion is a failed assertion
            record.fail(line, f"line {line}: {text}: {type(exc).__name__}: {exc}")
            return
        if ok:
            record.passed += 1
            record.total += 1
        else:
            record.fail(line, f"line {line}: assertion failed: {text}")

    namespace = {"__name__": "__judge__", "__ps_assert__": ps_assert}
    # Tests may call helpers the task's own prompt defines (HumanEval/32's `poly`)
    # or the entry point by name (HumanEval/33): give them the task's code and the proxy.
    prelude = spec.get("prelude")
    if prelude:
        try:
            exec(compile(prelude, "prelude.py", "exec"), namespace)
        except Exception:  # noqa: BLE001 - a prompt that is not code gives no helpers
            pass
    if spec.get("entry_point"):
        namespace[spec["entry_point"]] = proxy
    try:
        exec(compile(tree, "test.py", "exec"), namespace)
        check = namespace.get("check")
        if callable(check):
            before = record.total
            check(proxy)
            if record.total == before:
                # Tests that assert some other way (unittest's assertEqual, a raise)
                # passed if check() returned: that counts as one test.
                record.passed += 1
                record.total += 1
        elif spec.get("entry_point"):
            record.fail(None, "test code defines no check(candidate) function")
    except (CandidateDied, CandidateError) as exc:
        record.fail(_test_line(exc), f"test code stopped: {exc}")
    except Exception as exc:  # noqa: BLE001
        record.fail(_test_line(exc), f"test code stopped: {type(exc).__name__}: {exc}")


def _test_line(exc: BaseException) -> int | None:
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "test.py":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def bench(source_path: str, entry_point: str, inputs_path: str, calls: bool) -> None:
    """Load the program and, if `calls`, call it once on every input; print the results.

    Run under cachegrind by the exact efficiency mode: the same run with
    `calls` false is the baseline that is subtracted.
    """
    with open(inputs_path) as fh:
        inputs = [decode(args) for args in json.load(fh)]
    out = sys.stdout
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    with open(source_path) as fh:
        exec(compile(fh.read(), "candidate.py", "exec"), namespace)
    func = namespace[entry_point]
    results = [encode(func(*args)) for args in inputs] if calls else []
    out.write("PROOFSMITH-BENCH " + json.dumps(results) + "\n")
    out.flush()


def main(argv: list[str]) -> int:
    """`serve READ_FD WRITE_FD SOURCE ENTRY`, `judge READ_FD WRITE_FD SPEC REPORT_FD` or `bench SOURCE ENTRY INPUTS 0|1`."""
    role = argv[1]
    if role == "bench":
        bench(argv[2], argv[3], argv[4], argv[5] == "1")
        os._exit(0)
    read_fd, write_fd = int(argv[2]), int(argv[3])
    if role == "serve":
        serve(read_fd, write_fd, argv[4], argv[5])
        # Leave without running the program's atexit hooks or finalizers.
        os._exit(0)
    if role == "judge":
        # The report goes to its own fd, never stdout: test code may print
        # candidate answers there, and those are the candidate's words.
        report_fd = int(argv[5])
        report = json.dumps(judge(read_fd, write_fd, argv[4])).encode()
        view = memoryview(report)
        while view:
            view = view[os.write(report_fd, view):]
        return 0
    print(f"unknown role {role!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
