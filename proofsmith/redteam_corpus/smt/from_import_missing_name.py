# attack: `from math import nonexistent` raises ImportError when the module loads; a name-only import check passes it
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: load_error
# rule: the program is loaded by CPython in the sandbox before verified

from math import nonexistent


def gray_encode(x):
    return x ^ (x >> 1)
