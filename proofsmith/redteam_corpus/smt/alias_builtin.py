# attack: `from builtins import min as max` makes max() mean min() while a translator that ignores imports reads max
# checker: smt
# task: smt_saturating_sub8
# expect: refuted
# reason: unsupported
# rule: the module is one ordered namespace; an import binds an opaque name, and `as` aliases are refused

from builtins import min as max


def saturating_sub8(x, y):
    return max(x - y, 0)
