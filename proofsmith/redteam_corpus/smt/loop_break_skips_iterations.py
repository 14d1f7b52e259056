# attack: a `break` leaves the loop early only on the inputs the probes rarely draw; unrolling all iterations misreads it
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: a loop with `break` or `continue` is refused, not approximated

def gray_encode(x):
    r = 0
    for i in range(32):
        if x == 0xDEADBEEF:
            break
        r |= (((x >> i) ^ (x >> (i + 1))) & 1) << i
    return r
