# attack: answer 10**400 on a test with a float tolerance, where the comparison converts to float and overflows
# checker: python
# task: py_add_tolerance
# expect: refuted
# reason: tests_failed
# rule: a wrong answer is refuted whatever its type or size: the judge's comparison never crashes on it (an int past float range is compared exactly)
# source: proofsmith issue 18 (math.isclose raised OverflowError in the judge: unknown/crash)

def add(a, b):
    return 10**400
