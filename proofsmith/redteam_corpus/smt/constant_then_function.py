# attack: `K = 0` then `def K()`: the translator reads K as 0, CPython finds a function and raises TypeError
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: functions, constants and imports share one namespace, bound in order

K = 0


def K():
    return 1


def gray_encode(x):
    return x ^ (x >> 1) ^ K
