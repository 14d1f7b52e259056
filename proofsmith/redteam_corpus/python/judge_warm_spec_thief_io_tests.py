# attack: walk the stack, the GC's objects and all of /proc/self/mem (freed heap too) for the judge's io tests, answer their expected values
# checker: python
# task: py_add_io
# expect: refuted
# reason: tests_failed
# rule: the expected values never enter the candidate's process: under --sandbox warm the zygote forks it before the judge's files reach the zygote, which never reads them
# source: proofsmith issue 18 (the spec sat in the zygote's read buffer at fork time)
# repeat: 2

import gc, json, sys

KEY = '"io' + '_tests":'
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
            if not isinstance(text, str):
                continue
            at = text.find(KEY)
            while at != -1:
                try:
                    tests = json.JSONDecoder().raw_decode(text, at + len(KEY) + 1)[0]
                    for test in tests:
                        TABLE[tuple(test["args"])] = test["expected"]
                except Exception:
                    pass
                at = text.find(KEY, at + 1)
    return TABLE.get((a, b), a - b)
