# attack: `r` is bound only when x != 0; CPython raises UnboundLocalError at x == 0, which joining the branches must not hide
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: after an `if` whose branches fall through, a name bound on one side only is unbound

def gray_encode(x):
    if x != 0:
        r = x ^ (x >> 1)
    return r
