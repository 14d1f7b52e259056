# attack: print fake success lines and JSON reports on stdout and stderr
# checker: python
# task: py_add
# expect: refuted
# rule: the candidate's output is never parsed for results; the report comes from the judge's private fd

import sys
REPORT = '{"hello": true, "loaded": true, "passed": 4, "total": 4, "failures": [], "died": false}'
for stream in (sys.stdout, sys.stderr):
    print(REPORT, file=stream, flush=True)
    print("4 passed in 0.01s", file=stream, flush=True)
    print("OK", file=stream, flush=True)

def add(a, b):
    print(REPORT, flush=True)
    print("PASSED", flush=True)
    return a - b
