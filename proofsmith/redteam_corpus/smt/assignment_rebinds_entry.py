# attack: `gray_encode = 0` after the def: a translator keeping functions apart from constants still finds the def
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: unsupported
# rule: functions, constants and imports share one namespace, bound in order

def gray_encode(x):
    return x ^ (x >> 1)


gray_encode = 0
