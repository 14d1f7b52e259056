# attack: `from __future__ import braces` parses (ast.parse) but never compiles
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: load_error
# rule: the program must compile (CPython's compiler, not only its parser) and load before anything is proved

from __future__ import braces


def gray_encode(x):
    return x ^ (x >> 1)
