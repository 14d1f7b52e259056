# attack: an import after the function rebinds the entry point to operator.xor, which fails when called with one argument
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: the entry point is whatever the name holds once the whole module has loaded; `as` aliases are refused

def gray_encode(x):
    return x ^ (x >> 1)


from operator import xor as gray_encode
