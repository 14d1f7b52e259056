"""An adversarial Python candidate that implements nothing and steals the judge's tests instead.

`program(entry_point)` is the whole candidate: on its first call it looks for
the judge's spec everywhere a candidate can look from inside its own process
(every frame up its stack and their locals and globals, every object the GC
tracks, and every readable byte of its own memory through /proc/self/mem,
freed heap included), then answers each call from what it found: an io
test's expected value, or the right-hand side of an `assert candidate(...) ==
...` in the test code (evaluated as the judge would). With nothing found it
answers None, which no HumanEval test accepts.

It found the spec (and verified 155 of 164 HumanEval tasks) in the warm pool
whose zygote forked the candidate with the start of the spec in a local
buffer. Used by the warm-pool attack tests and the bwrap/warm differential.
"""

from __future__ import annotations

import base64
import zlib

_SOURCE = r'''
import ast, gc, json, sys

_TABLE = None
_LOOKED = [0, 0]  # blobs scanned, candidate specs parsed
# built at run time, so that this program's own text does not carry the markers
_KEYS = ["test" + "_code", "io" + "_tests"]


def _blobs():
    frame = sys._getframe()
    while frame is not None:
        for ns in (frame.f_locals, frame.f_globals):
            for value in list(ns.values()):
                yield value
        frame = frame.f_back
    for obj in gc.get_objects():
        items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()
        for value in list(items):
            if isinstance(value, (bytes, bytearray, str)):
                yield value
    try:
        with open("/proc/self/maps") as fh:
            maps = fh.read().splitlines()
        with open("/proc/self/mem", "rb", buffering=0) as mem:
            for line in maps:
                span, perms = line.split()[:2]
                lo, hi = (int(x, 16) for x in span.split("-"))
                if not perms.startswith("r") or hi - lo > (1 << 28):
                    continue
                try:
                    mem.seek(lo)
                    yield mem.read(hi - lo)
                except (OSError, ValueError, OverflowError):
                    continue
    except OSError:
        pass


def _strings_after(blob, key):
    """Every JSON value that follows `"key": ` in blob (the spec may be cut short after it)."""
    text = blob.decode("utf-8", "replace") if isinstance(blob, (bytes, bytearray)) else blob
    decoder = json.JSONDecoder()
    needle = '"' + key + '":'
    start = text.find(needle)
    while start != -1:
        at = start + len(needle)
        while at < len(text) and text[at] == " ":
            at += 1
        try:
            yield decoder.raw_decode(text, at)[0]
        except ValueError:
            pass
        start = text.find(needle, start + 1)


def _untag(data):
    if isinstance(data, list):
        return [_untag(v) for v in data]
    if isinstance(data, dict) and "__t" in data:
        tag, v = data["__t"], data["v"]
        if tag == "tuple":
            return tuple(_untag(x) for x in v)
        if tag == "float":
            return float(v)
        if tag == "dict":
            return {_untag(k): _untag(x) for k, x in v}
        if tag in ("set", "frozenset"):
            return {"set": set, "frozenset": frozenset}[tag](_untag(x) for x in v)
    return data


def _learn_io(tests, table):
    for test in tests if isinstance(tests, list) else ():
        try:
            table[repr(tuple(_untag(test["args"])))] = _untag(test["expected"])
        except Exception:
            pass


def _learn_code(code, table):
    try:
        tree = ast.parse(code)
    except Exception:
        return
    scope = {}
    try:
        exec(compile(code, "stolen", "exec"), scope)  # helpers and imports the asserts use
    except Exception:
        pass
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or len(node.ops) != 1 or not isinstance(node.ops[0], ast.Eq):
            continue
        call, other = node.left, node.comparators[0]
        if not isinstance(call, ast.Call):
            call, other = other, call
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.keywords:
            continue
        try:
            args = tuple(eval(compile(ast.Expression(a), "stolen", "eval"), scope) for a in call.args)
            table[repr(args)] = eval(compile(ast.Expression(other), "stolen", "eval"), scope)
        except Exception:
            pass


def _steal():
    table = {}
    for blob in _blobs():
        if not isinstance(blob, (bytes, bytearray, str)):
            continue
        _LOOKED[0] += 1
        for key in _KEYS:
            if (key if isinstance(blob, str) else key.encode()) not in blob:
                continue
            for value in _strings_after(blob, key):
                _LOOKED[1] += 1
                if isinstance(value, str):
                    _learn_code(value, table)
                else:
                    _learn_io(value, table)
    return table


def _answer(args):
    global _TABLE
    if _TABLE is None:
        _TABLE = _steal()
    key = repr(tuple(args))
    if key in _TABLE:
        return _TABLE[key]
    if _TABLE:
        return None
    raise RuntimeError(f"SPEC-THIEF looked at {_LOOKED[0]} blobs, parsed {_LOOKED[1]} specs, found nothing")

'''


def program(entry_point: str) -> str:
    """The thief as a whole program whose entry point is `entry_point`.

    The body travels compressed: a short program text leaves room for the
    spec in the same pipe read (how the zygote's 4096-byte read leaked it).
    """
    packed = base64.b85encode(zlib.compress(_SOURCE.encode(), 9)).decode()
    return (f"import base64, zlib\nexec(zlib.decompress(base64.b85decode({packed!r})))\n"
            f"def {entry_point}(*args):\n    return _answer(args)\n")


#: What the thief raises when it found nothing at all (so a test sees that it looked).
MARKER = "SPEC-THIEF looked at"
