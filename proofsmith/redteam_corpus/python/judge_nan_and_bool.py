# attack: answer True or NaN, which compare oddly
# checker: python
# task: py_add_io
# expect: refuted
# rule: exact-type comparison: bool is not int, NaN equals nothing

_N = [0]

def add(a, b):
    _N[0] += 1
    return True if _N[0] % 2 else float("nan")
