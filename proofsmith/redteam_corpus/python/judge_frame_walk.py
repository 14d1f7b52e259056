# attack: walk the caller's frames and the GC heap for the expected values
# checker: python
# task: py_add_io
# expect: refuted
# rule: the tests and expected values live in the judge's process; the candidate's frames hold only its harness

import gc, sys

def _find(a, b):
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
            if isinstance(value, dict) and "expected" in value:
                return value["expected"]
        frame = frame.f_back
    for obj in gc.get_objects():
        if isinstance(obj, dict) and obj.get("args") == [a, b] and "expected" in obj:
            return obj["expected"]
    return None

def add(a, b):
    found = _find(a, b)
    return found if found is not None else a - b
