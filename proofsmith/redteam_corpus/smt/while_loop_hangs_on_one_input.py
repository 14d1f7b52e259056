# attack: right on every input but one, where the loop never ends; no probe draws it, and the unrolling must not hide it
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: a `while` loop is proved only where no input runs it past its unrolling; an overrun is refused, never proved

def gray_encode(x):
    n = x
    while n == 0xC0FFEE:
        n = n
    return x ^ (x >> 1)
