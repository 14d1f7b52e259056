# attack: a module-level `range` returns one item; unrolling the builtin's 32 iterations would prove a loop CPython never runs
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: `for` is unrolled only over the builtin `range`, which no name of the module or the function may hide

def gray_encode(x):
    r = 0
    for i in range(32):
        r |= (((x >> i) ^ (x >> (i + 1))) & 1) << i
    return r


def range(n):
    return [n]
