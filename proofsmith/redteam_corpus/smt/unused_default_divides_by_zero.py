# attack: an uncalled helper whose default is 1 // 0 raises ZeroDivisionError when its def runs
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: load_error
# rule: every top-level def is evaluated (defaults, annotations), called or not

def helper(a=1 // 0):
    return a


def gray_encode(x):
    return x ^ (x >> 1)
