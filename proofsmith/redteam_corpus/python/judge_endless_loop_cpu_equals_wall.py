# attack: loop forever (polling, so no CPU limit ends it) where the CPU limit equals the wall limit, HumanEval's limits
# checker: python
# task: py_add_cpu_equals_wall
# expect: refuted
# reason: timeout
# rule: a candidate that does not answer within its wall-clock budget while the machine gives it its time is refuted, so a trainer penalises it (unknown is only for a measured overload; the busy-loop form is in tests/test_python_checker.py and tests/test_overload.py)
# source: proofsmith issue 18 (an endless loop came back unknown/timeout in both sandboxes)

import time

def add(a, b):
    while True:
        time.sleep(0.01)
