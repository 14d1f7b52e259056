# attack: `def helper(a, a)` parses with ast.parse but the compiler rejects it
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: load_error
# rule: the program must compile (CPython's compiler, not only its parser)

def helper(a, a):
    return a


def gray_encode(x):
    return x ^ (x >> 1)
