# attack: an uncalled helper with an undefined decorator raises NameError when its def runs
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: every top-level def is evaluated; decorators are not modelled and are refused wherever they are

@cache
def helper(a):
    return a


def gray_encode(x):
    return x ^ (x >> 1)
