# attack: `from math import *` after the helper's def rebinds `gcd` to math.gcd (math.gcd(x) is abs(x), so CPython computes x ^ x = 0), while a translator reading the def computes x ^ (x >> 1)
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: a star import binds exactly the names the candidates' interpreter binds, each opaque, in module order

def gcd(x):
    return x >> 1


from math import *


def gray_encode(x):
    return x ^ gcd(x)
