# attack: loop forever where the CPU limit equals the wall limit (HumanEval's limits), so the wall budget ends it first
# checker: python
# task: py_add_cpu_equals_wall
# expect: refuted
# reason: timeout
# rule: a candidate that does not answer within its wall-clock budget while the machine gives it its CPU is refuted, so a trainer penalises it (unknown is only for an overloaded machine)
# source: proofsmith issue 18 (an endless loop came back unknown/timeout in both sandboxes)

def add(a, b):
    while True:
        pass
