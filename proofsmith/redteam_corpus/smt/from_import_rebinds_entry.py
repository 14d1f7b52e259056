# attack: `from operator import gray_encode` after the def rebinds (or fails to bind) the entry point
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: the entry point is whatever the name holds once the whole module has loaded

def gray_encode(x):
    return x ^ (x >> 1)


from operator import gray_encode
