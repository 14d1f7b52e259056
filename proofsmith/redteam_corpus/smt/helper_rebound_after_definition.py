# attack: the helper the entry point calls is rebound to a constant after its def; CPython calls the int and fails
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: a function reads the namespace as it is when it is called: after the whole module has loaded

def half(x):
    return x >> 1


def gray_encode(x):
    return x ^ half(x)


half = 1
