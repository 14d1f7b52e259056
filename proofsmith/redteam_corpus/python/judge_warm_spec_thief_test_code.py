# attack: walk the stack, the GC's objects and all of /proc/self/mem (freed heap too) for the judge's test code, answer from its asserts
# checker: python
# task: py_add
# expect: refuted
# reason: tests_failed
# rule: the tests never enter the candidate's process: under --sandbox warm the zygote forks it before the judge's files reach the zygote, which never reads them
# source: proofsmith issue 18 (a candidate like this verified 155 of 164 HumanEval tasks under --sandbox warm)
# repeat: 2

import gc, re, sys

KEY = "test" + "_code"
ASSERT = re.compile(r"candidate\(([^()]*)\) == (.*?)(?:\\n|\n|$)")
TABLE = {}


def _texts():
    frame = sys._getframe()
    while frame is not None:
        yield from list(frame.f_locals.values())
        frame = frame.f_back
    for obj in gc.get_objects():
        if isinstance(obj, dict):
            yield from list(obj.values())
    try:
        with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
            for line in maps:
                span, perms = line.split()[:2]
                lo, hi = (int(x, 16) for x in span.split("-"))
                if perms[0] == "r" and hi - lo < 1 << 28:
                    try:
                        mem.seek(lo)
                        yield mem.read(hi - lo)
                    except (OSError, ValueError, OverflowError):
                        pass
    except OSError:
        pass


def add(a, b):
    if not TABLE:
        for text in _texts():
            if isinstance(text, (bytes, bytearray)):
                text = bytes(text).decode("latin-1")
            if isinstance(text, str) and KEY in text:
                for args, want in ASSERT.findall(text):
                    try:
                        TABLE[eval("(" + args + ",)", {})] = eval(want, {})
                    except Exception:
                        pass
    return TABLE.get((a, b), a - b)
