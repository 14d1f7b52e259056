# attack: `def __builtins__` replaces where the module's functions find abs(): it fails on the one input that calls it
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: top-level dunder names are never bound (they change how the module runs, not what it holds)

def __builtins__():
    return 0


def gray_encode(x):
    if x == 12345:
        return abs(x) ^ (x >> 1)
    return x ^ (x >> 1)
