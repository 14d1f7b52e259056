# attack: raise SystemExit from __del__ and an atexit hook
# checker: python
# task: py_add
# expect: refuted
# rule: the judge is another process; the candidate's finalisers and exit hooks cannot end it

import atexit, os, gc

class _Bomb:
    def __del__(self):
        raise SystemExit(0)

atexit.register(lambda: os._exit(0))

def add(a, b):
    _Bomb()
    gc.collect()
    return a - b
