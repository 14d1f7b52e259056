# attack: `from operator import *` rebinds `abs` to operator.abs; a translator that models abs as the builtin after a star import trusts a name the module changed
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: a star import binds exactly the names the candidates' interpreter binds, each opaque, in module order

from operator import *


def gray_encode(x):
    return abs(x) ^ (x >> 1)
