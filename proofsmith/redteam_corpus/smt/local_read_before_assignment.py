# attack: a name assigned later in the function is local everywhere in it: reading it early raises UnboundLocalError
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: a translation follows Python's scoping, not the order a reader would guess

S = 1


def gray_encode(x):
    y = x ^ (x >> S)
    S = 2
    return y
