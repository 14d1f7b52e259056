"""The Python checker end to end, on the real sandbox: verdicts, and reward hacks that must not verify.

Every check goes through `proofsmith.provers.check(task, candidate, use_cache=False)`.
A hack candidate is a wrong program (its `add` returns -1, so no assertion of
the default task can pass) plus the trick; the trick must not turn it into a
`verified`. Where a hack probes for something (the tests, a peer, a file), it
returns the right answer if it finds it and otherwise raises an error carrying
a marker, so the diagnostics prove the probe ran.
"""

from __future__ import annotations

import json
import signal
import textwrap
import time
import uuid

import pytest

from proofsmith.provers import check, check_many
from proofsmith.schema import IOTest, Limits

pytestmark = pytest.mark.usefixtures("bwrap_or_skip")

FAST = Limits(wall_s=10, cpu_s=5, memory_mb=512)


def messages(verdict) -> str:
    return "\n".join(d.message for d in verdict.diagnostics)


def assert_not_verified(verdict, *, status: str = "refuted") -> None:
    assert verdict.status != "verified", verdict
    assert verdict.reward == 0.0
    assert verdict.status == status, verdict


# --------------------------------------------------------------------------- plain verdicts


@pytest.mark.timeout(60)
def test_correct_candidate_is_verified_with_partial_credit(py_task, candidate):
    task = py_task()
    v = check(task, candidate(task, "def add(a, b):\n    return a + b\n"), use_cache=False)
    assert v.status == "verified", v
    assert v.reward == 1.0 and v.reason is None and v.diagnostics == []
    assert v.partial is not None and v.partial.total == 4 and v.partial.passed == 4
    assert v.manifest.sandbox == "bwrap" and "seccomp" in v.manifest.isolation
    assert v.resources.limit_hit is None


@pytest.mark.timeout(60)
def test_completion_candidate_is_verified(py_task, candidate):
    task = py_task()
    v = check(task, candidate(task, "    return a + b\n", completion=True), use_cache=False)
    assert v.status == "verified", v


@pytest.mark.timeout(60)
def test_wrong_candidate_is_refuted_with_the_failing_line(py_task, candidate):
    task = py_task()
    v = check(task, candidate(task, "def add(a, b):\n    return a + b if a > 0 else 99\n"), use_cache=False)
    assert_not_verified(v)
    assert v.reason == "tests_failed"
    assert v.partial.passed == 3 and v.partial.total == 4
    [diag] = v.diagnostics
    assert diag.line == 3  # `assert candidate(-4, 4) == 0` is line 3 of the test code
    assert "candidate(-4, 4) == 0" in diag.message


@pytest.mark.timeout(60)
def test_io_tests_mismatch_names_expected_and_got(py_task, candidate):
    task = py_task(test_code=None, io_tests=[IOTest(args=[1, 2], expected=3), IOTest(args=[2, 2], expected=4)])
    v = check(task, candidate(task, "def add(a, b):\n    return 3\n"), use_cache=False)
    assert_not_verified(v)
    assert v.partial.passed == 1 and v.partial.total == 2
    assert "io_tests[1]" in messages(v) and "expected 4, got 3" in messages(v)


@pytest.mark.timeout(60)
def test_syntax_error_is_refuted_with_its_line(py_task, candidate):
    task = py_task()
    v = check(task, candidate(task, "x = 1\ndef add(a, b)\n    return a + b\n"), use_cache=False)
    assert_not_verified(v)
    assert v.reason == "load_error"
    assert v.diagnostics[0].line == 2


# --------------------------------------------------------------------------- hacks on the judge

WRONG = "\ndef add(a, b):\n    return -1\n"

#: hack name -> (source run before the wrong `add`, the reason the verdict must give)
JUDGE_HACKS = {
    "patch_builtins": ("""
        import builtins
        class NeverRaised(Exception):
            pass
        builtins.AssertionError = NeverRaised
        builtins.all = lambda *args: True
        builtins.any = lambda *args: True
        builtins.sum = lambda *args: 3
        builtins.__dict__["__debug__"] = False
    """, "tests_failed"),
    "patch_builtins_under_the_harness": ("""
        import builtins
        builtins.isinstance = lambda *args: True
        builtins.len = lambda *args: 0
        builtins.type = lambda *args: int
    """, "load_error"),
    "fake_unittest_and_pytest": ("""
        import sys, types, unittest
        unittest.TestCase.assertEqual = lambda self, *a, **k: None
        unittest.TestCase.assertTrue = lambda self, *a, **k: None
        unittest.TestCase.run = lambda self, result=None: result
        fake = types.ModuleType("pytest")
        fake.main = lambda *a, **k: 0
        fake.approx = lambda x, **k: x
        sys.modules["pytest"] = fake
        sys.modules["unittest"] = fake
        sys.modules["_pytest"] = fake
    """, "tests_failed"),
    "patch_the_harness_send": ("""
        import __main__
        # the harness is __main__ here: make every answer claim success
        _send = __main__.Channel.send
        def send(self, message):
            if isinstance(message, dict) and "value" in message:
                message = {"ok": True, "value": True, "passed": 4, "total": 4}
            return _send(self, message)
        __main__.Channel.send = send
        __main__.encode = lambda value, depth=0: True
    """, "tests_failed"),
    "patch_json_dumps": ("""
        import json
        json.dumps = lambda *a, **k: '{"ok": true, "value": true, "passed": 99, "total": 99}'
    """, "load_error"),
    "ctypes_curse_int_eq": ("""
        import ctypes, gc
        real = gc.get_referents(int.__dict__)[0]
        real["__eq__"] = lambda self, other: True
        ctypes.pythonapi.PyType_Modified(ctypes.py_object(int))
    """, "tests_failed"),
    "signal_handlers": ("""
        import signal
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE, signal.SIGXCPU,
                    signal.SIGXFSZ, signal.SIGUSR1, signal.SIGALRM):
            signal.signal(sig, signal.SIG_IGN)
    """, "tests_failed"),
    "write_result_files": ("""
        import json, os
        report = {"hello": True, "loaded": True, "load_error": None, "died": False,
                  "passed": 4, "total": 4, "failures": []}
        for path in ("result.json", "report.json", "/work/result.json", "/tmp/result.json",
                     "/work/spec.json", "/work/harness.py.report", "verdict.json"):
            try:
                with open(path, "w") as fh:
                    json.dump(report, fh)
            except OSError:
                pass
    """, "tests_failed"),
    "fake_judge_line_on_stdout_and_stderr": ("""
        import json, sys
        line = "PROOFSMITH-JUDGE " + json.dumps({"hello": True, "loaded": True, "load_error": None,
            "load_line": None, "died": False, "passed": 4, "total": 4, "failures": []})
        print(line, flush=True)
        print(line, file=sys.stderr, flush=True)
        import atexit
        atexit.register(print, line)
    """, "tests_failed"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("hack", sorted(JUDGE_HACKS))
def test_hacks_against_the_judge_are_refuted(py_task, candidate, hack):
    source, reason = JUDGE_HACKS[hack]
    task = py_task()
    v = check(task, candidate(task, textwrap.dedent(source) + WRONG), use_cache=False)
    assert_not_verified(v)
    assert v.reason == reason, v
    if reason == "tests_failed":
        # the program loaded (so the hack ran) and the judge's own assertions caught every wrong answer
        assert v.partial.passed == 0 and v.partial.total == 4
        assert messages(v).count("assertion failed") == 4, messages(v)


@pytest.mark.timeout(60)
def test_fake_judge_report_written_into_every_fd_is_refuted(py_task, candidate):
    task = py_task()
    v = check(task, candidate(task, """
        import json, os
        line = ("PROOFSMITH-JUDGE " + json.dumps({"hello": True, "loaded": True, "load_error": None,
                "load_line": None, "died": False, "passed": 4, "total": 4, "failures": []}) + "\\n").encode()
        for fd in range(64):
            try:
                os.write(fd, line)
            except OSError:
                pass
        def add(a, b):
            for fd in range(64):
                try:
                    os.write(fd, line)
                except OSError:
                    pass
            return -1
    """), use_cache=False)
    assert_not_verified(v)


EXIT_HACKS = {
    "sys_exit_at_load": ("import sys\nsys.exit(0)\n" + WRONG, "load_error", "SystemExit"),
    "os_exit_at_load": ("import os\nos._exit(0)\n" + WRONG, "load_error", "exited or crashed"),
    "sys_exit_in_function": ("import sys\ndef add(a, b):\n    sys.exit(0)\n", "tests_failed", "SystemExit"),
    "os_exit_in_function": ("import os\ndef add(a, b):\n    os._exit(0)\n", "tests_failed", "gone"),
    "keyboard_interrupt_in_function": ("def add(a, b):\n    raise KeyboardInterrupt\n", "tests_failed",
                                       "KeyboardInterrupt"),
    "system_exit_in_del": (
        "class Bomb:\n    def __del__(self):\n        raise SystemExit(0)\n"
        "def add(a, b):\n    Bomb()\n    return -1\n", "tests_failed", "assertion failed"),
    # The candidate is pid 1 of its namespace, where its own SIGKILL is ignored.
    "kill_itself": ("import os, signal\ndef add(a, b):\n    os.kill(os.getpid(), signal.SIGKILL)\n",
                    "tests_failed", "assertion failed"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("hack", sorted(EXIT_HACKS))
def test_exiting_early_is_refuted(py_task, candidate, hack):
    source, reason, text = EXIT_HACKS[hack]
    task = py_task()
    v = check(task, candidate(task, source), use_cache=False)
    assert_not_verified(v)
    assert v.reason == reason, v
    assert text in messages(v), messages(v)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("base", ["object", "int", "str", "list", "float", "tuple", "dict"])
def test_always_equal_objects_do_not_cross_to_the_judge(py_task, candidate, base):
    task = py_task()
    v = check(task, candidate(task, f"""
        class AlwaysEqual({base}):
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            __hash__ = {base}.__hash__
        def add(a, b):
            return AlwaysEqual()
    """), use_cache=False)
    assert_not_verified(v)
    assert v.partial.passed == 0
    assert "cannot return a value of type AlwaysEqual" in messages(v), messages(v)


@pytest.mark.timeout(60)
def test_candidate_cannot_read_the_tests_or_expected_outputs(py_task, candidate):
    secret = f"expected-{uuid.uuid4().hex}"
    task = py_task(entry_point="answer", statement="def answer(x):\n", test_code=None,
                   io_tests=[IOTest(args=[1], expected=secret), IOTest(args=[2], expected=secret)])
    v = check(task, candidate(task, """
        import glob, json, os, re
        PATTERN = re.compile(rb"expected-[0-9a-f]{32}")
        looked = []

        def scan(path):
            looked.append(path)
            try:
                with open(path, "rb") as fh:
                    found = PATTERN.search(fh.read(1 << 22))
            except OSError:
                return None
            return found.group().decode() if found else None

        def answer(x):
            paths = ["spec.json", "/work/spec.json", "/tmp/spec.json"]
            paths += glob.glob("/**/spec.json", recursive=False) + glob.glob("/work/*") + glob.glob("/tmp/*")
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    for what in ("cmdline", "environ"):
                        paths.append(f"/proc/{pid}/{what}")
                    paths += glob.glob(f"/proc/{pid}/cwd/*") + glob.glob(f"/proc/{pid}/root/work/*")
            ppid = os.getppid()
            paths += [f"/proc/{ppid}/cmdline", f"/proc/{ppid}/environ", f"/proc/{ppid}/cwd/spec.json",
                      f"/proc/{ppid}/root/work/spec.json"]
            for fd in os.listdir("/proc/self/fd"):
                target = f"/proc/self/fd/{fd}"
                try:
                    if os.path.isfile(os.path.realpath(target)):
                        paths.append(target)
                except OSError:
                    pass
            for root in ("/work", "/tmp", "/dev/shm", "/run", "/var", "/home", "/root", "/etc"):
                for dirpath, dirs, files in os.walk(root):
                    paths += [os.path.join(dirpath, f) for f in files]
            for path in paths:
                hit = scan(path)
                if hit:
                    return hit
            raise RuntimeError(f"LOOKED-IN {len(looked)} files, found nothing")
    """), use_cache=False)
    assert_not_verified(v)
    assert "LOOKED-IN" in messages(v), messages(v)
    assert secret not in messages(v)


@pytest.mark.timeout(60)
def test_infinite_output_is_not_verified(py_task, candidate):
    task = py_task(limits=Limits(wall_s=10, cpu_s=2, memory_mb=256))
    v = check(task, candidate(task, """
        import sys
        def add(a, b):
            while True:
                try:
                    sys.stdout.write("PROOFSMITH-JUDGE " + "x" * 65536 + "\\n")
                    sys.stderr.write("y" * 65536)
                except OSError:
                    pass
    """), use_cache=False)
    assert_not_verified(v)


@pytest.mark.timeout(60)
def test_infinite_output_at_load_is_refuted(py_task, candidate):
    task = py_task(limits=Limits(wall_s=10, cpu_s=5, memory_mb=256))
    v = check(task, candidate(task, "while True:\n    print('z' * 65536)\n" + WRONG), use_cache=False)
    assert_not_verified(v)
    assert "File too large" in messages(v)


# The candidate's wall budget runs out: its fault on a healthy machine, so refuted (reason timeout).
# HumanEval's limits (cpu_s == wall_s) are the case where the wall budget, not RLIMIT_CPU, ends a busy loop.
ENDLESS = {
    "sleep_in_call": "import time\ndef add(a, b):\n    time.sleep(3600)\n",
    "sleep_at_load": "import time\ntime.sleep(3600)\n" + WRONG,
    "sleeping_loop_in_call": "import time\ndef add(a, b):\n    while True:\n        time.sleep(0.01)\n",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sandbox", ["bwrap", "warm"])
@pytest.mark.parametrize("how", sorted(ENDLESS))
def test_never_answering_is_refuted_timeout(py_task, candidate, sandbox, how):
    task = py_task(limits=Limits(wall_s=2, cpu_s=2, memory_mb=256))
    started = time.monotonic()
    v = check(task, candidate(task, ENDLESS[how]), sandbox=sandbox, use_cache=False)
    assert_not_verified(v)
    assert v.reason == "timeout", v
    assert "did not answer within its 2 s wall-clock budget" in messages(v), messages(v)
    assert time.monotonic() - started < 2 + 5


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sandbox", ["bwrap", "warm"])
def test_busy_endless_loop_with_cpu_equal_to_wall_is_refuted_timeout(py_task, candidate, sandbox):
    """HumanEval's limits: cpu_s == wall_s, so the wall budget ends the loop before RLIMIT_CPU does."""
    task = py_task(limits=Limits(wall_s=2, cpu_s=2, memory_mb=256))
    v = check(task, candidate(task, "def add(a, b):\n    while True:\n        pass\n"), sandbox=sandbox,
              use_cache=False)
    if v.status == "unknown" and v.reason == "overload":
        pytest.skip(f"this machine was overloaded during the check: {messages(v)}")
    assert_not_verified(v)
    assert v.reason in ("timeout", "cpu_limit"), v


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sandbox", ["bwrap", "warm"])
def test_a_candidate_that_makes_its_own_cpu_contention_is_refuted_not_overload(py_task, candidate, sandbox):
    """Forked busy loops queue the candidate's own processes for a CPU: that is not the machine's overload."""
    task = py_task(limits=Limits(wall_s=2, cpu_s=20, memory_mb=256, pids=32))
    v = check(task, candidate(task, """
        import os
        def add(a, b):
            for _ in range(12):
                if os.fork() == 0:
                    while True:
                        pass
            while True:
                pass
    """), sandbox=sandbox, use_cache=False)
    if v.status == "unknown" and v.reason == "overload":
        # its processes share one scheduler autogroup: other load can still leave the lot under half a CPU
        pytest.skip(f"this machine was overloaded during the check: {messages(v)}")
    assert_not_verified(v)
    assert v.reason == "timeout", v


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sandbox", ["bwrap", "warm"])
def test_an_int_too_big_for_a_float_on_a_tolerance_test_is_refuted(py_task, candidate, sandbox):
    task = py_task(test_code=None, io_tests=[IOTest(args=[1, 2], expected=3.0, atol=1e-6),
                                             IOTest(args=[2, 2], expected=4.0, atol=1e-6)])
    v = check(task, candidate(task, "def add(a, b):\n    return 10**400 if a == 1 else a + b\n"), sandbox=sandbox,
              use_cache=False)
    assert_not_verified(v)
    assert v.reason == "tests_failed", v
    assert v.partial.passed == 1 and v.partial.total == 2
    assert "io_tests[0]" in messages(v)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sandbox", ["bwrap", "warm"])
def test_an_answer_at_the_message_cap_that_parses_to_millions_of_objects_is_refuted(py_task, candidate, sandbox):
    """Just under 16 MiB of `[[],[],...]`: millions of lists in the judge, past its memory, if it parsed them."""
    task = py_task(test_code=None, io_tests=[IOTest(args=[1, 2], expected=3)],
                   limits=Limits(wall_s=20, cpu_s=20, memory_mb=512))
    v = check(task, candidate(task, """
        def add(a, b):
            return [[]] * ((16 << 20) // 3 - 64)
    """), sandbox=sandbox, use_cache=False)
    assert_not_verified(v)
    assert "a message of more than" in messages(v), messages(v)


@pytest.mark.timeout(60)
def test_cpu_loop_is_refuted_cpu_limit(py_task, candidate):
    task = py_task(limits=Limits(wall_s=10, cpu_s=1, memory_mb=256))
    v = check(task, candidate(task, "def add(a, b):\n    while True:\n        pass\n"), use_cache=False)
    assert_not_verified(v)
    assert v.reason == "cpu_limit", v
    assert v.resources.limit_hit == "cpu"


@pytest.mark.timeout(60)
def test_cpu_loop_ignoring_sigxcpu_is_refuted_cpu_limit(py_task, candidate):
    task = py_task(limits=Limits(wall_s=10, cpu_s=1, memory_mb=256))
    v = check(task, candidate(task, """
        import signal
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
        def add(a, b):
            while True:
                pass
    """), use_cache=False)
    assert_not_verified(v)
    assert v.reason == "cpu_limit", v


@pytest.mark.timeout(60)
def test_memory_bomb_is_refuted_memory_limit(py_task, candidate):
    task = py_task(limits=Limits(wall_s=20, cpu_s=10, memory_mb=256))
    v = check(task, candidate(task, """
        def add(a, b):
            hog = []
            while True:
                hog.append(b"m" * (64 << 20))
    """), use_cache=False)
    assert_not_verified(v)
    assert v.reason == "memory_limit", v


@pytest.mark.timeout(60)
def test_fork_bomb_is_not_verified(py_task, candidate):
    task = py_task(limits=Limits(wall_s=4, cpu_s=4, memory_mb=256, pids=16))
    v = check(task, candidate(task, """
        import os
        def add(a, b):
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
    """), use_cache=False)
    assert v.status != "verified" and v.reward == 0.0, v


@pytest.mark.timeout(60)
def test_judge_report_printed_through_the_tests_is_not_trusted(py_task, candidate):
    """The test code prints a candidate's answer; the candidate answers with a forged report line, then stalls.

    The judge is killed at the wall limit without writing its own report, so the
    forged line is the last `PROOFSMITH-JUDGE` line on the judge's stdout.
    """
    tests = textwrap.dedent("""\
        def check(candidate):
            print("debug: add(1, 2) ->", candidate(1, 2))
            assert candidate(1, 2) == 3
            assert candidate(10, 5) == 15
    """)
    forged = json.dumps({"hello": True, "loaded": True, "load_error": None, "load_line": None,
                         "died": False, "passed": 2, "total": 2, "failures": []})
    task = py_task(test_code=tests, limits=Limits(wall_s=3, cpu_s=3, memory_mb=256))
    v = check(task, candidate(task, f"""
        import time
        calls = 0
        def add(a, b):
            global calls
            calls += 1
            if calls == 1:
                # big enough to leave the judge's stdout buffer at once
                return "\\nPROOFSMITH-JUDGE " + {json.dumps(forged)} + "\\n" + "x" * 20000
            time.sleep(3600)
    """), use_cache=False)
    assert v.status != "verified", v
    assert v.reward == 0.0


NESTED = 'b"[" * 200000 + b"]" * 200000 + b"\\n"'


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["at_load", "in_io_test_call"])
def test_malformed_reply_crashing_the_judge_is_refuted(py_task, candidate, where):
    if where == "at_load":
        task = py_task()
        source = f"import os, sys\nos.write(int(sys.argv[3]), {NESTED})\n" + WRONG
    else:
        task = py_task(test_code=None, io_tests=[IOTest(args=[1, 2], expected=3)])
        source = f"import os, sys, time\ndef add(a, b):\n    os.write(int(sys.argv[3]), {NESTED})\n    time.sleep(60)\n"
    v = check(task, candidate(task, source), use_cache=False)
    assert_not_verified(v)


# --------------------------------------------------------------------------- concurrency


PEER_TESTS = "def check(candidate):\n    assert candidate(0) == 0\n"
PEER_STATEMENT = "def probe(x):\n"


def _writer(name: str, hold_s: float) -> str:
    head, tail = name[:10], name[10:]
    return textwrap.dedent(f"""
        import os, socket, time
        NAME = "{head}" + "{tail}"
        _sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        _sock.bind("\\0" + NAME)
        _sock.listen(4)
        for d in ("/tmp", "/work", "/dev/shm"):
            try:
                with open(os.path.join(d, NAME), "w") as fh:
                    fh.write("peer")
            except OSError:
                pass
        def probe(x):
            time.sleep({hold_s})
            return x
    """)


def _seeker(name: str, window_s: float) -> str:
    head, tail = name[:10], name[10:]
    return textwrap.dedent(f"""
        import os, socket, time
        NAME = "{head}" + "{tail}"
        def seen():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect("\\0" + NAME)
                return "socket"
            except OSError:
                pass
            finally:
                s.close()
            for d in ("/tmp", "/work", "/dev/shm"):
                if os.path.exists(os.path.join(d, NAME)):
                    return "file in " + d
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open(f"/proc/{{pid}}/cmdline", "rb") as fh:
                            if b"probe(x)" in fh.read():
                                return "process"
                    except OSError:
                        pass
            return None
        def probe(x):
            deadline = time.monotonic() + {window_s}
            tries = 0
            while time.monotonic() < deadline:
                tries += 1
                what = seen()
                if what:
                    return x  # found the peer: this candidate would verify
                time.sleep(0.05)
            raise RuntimeError(f"NOT-FOUND after {{tries}} probes")
    """)


@pytest.mark.timeout(60)
def test_the_peer_probe_finds_traces_in_its_own_sandbox(py_task, candidate):
    """Control for the next test: the seeker does find a writer's traces when they share a sandbox."""
    name = f"ps-peer-{uuid.uuid4().hex}"
    task = py_task(id="peer", entry_point="probe", statement=PEER_STATEMENT, test_code=PEER_TESTS)
    both = _writer(name, 0).replace("def probe(x)", "def _unused(x)") + _seeker(name, 1.0)
    v = check(task, candidate(task, both), use_cache=False)
    assert v.status == "verified", v


@pytest.mark.timeout(60)
def test_concurrent_candidates_cannot_see_each_other(py_task, candidate):
    name = f"ps-peer-{uuid.uuid4().hex}"
    task = py_task(id="peer", entry_point="probe", statement=PEER_STATEMENT, test_code=PEER_TESTS,
                   limits=Limits(wall_s=15, cpu_s=5, memory_mb=256))
    writer = candidate(task, _writer(name, 2.5), id="writer")
    seeker = candidate(task, _seeker(name, 1.5), id="seeker")
    v_writer, v_seeker = check_many([(task, writer), (task, seeker)], jobs=2, use_cache=False)
    assert v_writer.status == "verified", v_writer  # it was alive (and undisturbed) the whole time
    assert_not_verified(v_seeker)
    assert "NOT-FOUND" in messages(v_seeker), messages(v_seeker)


# --------------------------------------------------------------------------- HumanEval


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_humaneval_canonical_verified_and_return_none_refuted(humaneval_default_verdicts):
    tasks, verdicts = humaneval_default_verdicts.tasks, humaneval_default_verdicts.verdicts
    assert len(tasks) == 164
    elapsed = humaneval_default_verdicts.elapsed
    good, bad = verdicts[:164], verdicts[164:]
    not_verified = [(v.task_id, v.status, v.reason, messages(v)[:200]) for v in good if v.status != "verified"]
    not_refuted = [(v.task_id, v.status, v.reason, messages(v)[:200]) for v in bad if v.status != "refuted"]
    assert not not_verified, not_verified
    assert not not_refuted, not_refuted
    assert sum(v.status == "unknown" for v in verdicts) == 0
    assert elapsed < 120, f"HumanEval took {elapsed:.0f} s"


# --------------------------------------------------------------------------- signals reach only the candidate


@pytest.mark.timeout(60)
def test_candidate_signalling_everything_it_can_is_refuted(py_task, candidate):
    task = py_task()
    v = check(task, candidate(task, f"""
        import os
        def add(a, b):
            for pid in range(1, 4096):
                if pid != os.getpid():
                    try:
                        os.kill(pid, {int(signal.SIGKILL)})
                    except OSError:
                        pass
            try:
                os.kill(-1, {int(signal.SIGKILL)})
            except OSError:
                pass
            return -1
    """), use_cache=False)
    assert_not_verified(v)
    assert v.reason == "tests_failed", v
