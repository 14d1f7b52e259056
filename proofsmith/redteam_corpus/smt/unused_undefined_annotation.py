# attack: an uncalled helper with an undefined annotation raises NameError when its def runs
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: load_error
# rule: every top-level def is evaluated (defaults, annotations), called or not

def helper(a: Word) -> int:
    return a


def gray_encode(x):
    return x ^ (x >> 1)
