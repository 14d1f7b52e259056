# attack: `from builtins import *` (or any star import) binds names the translator cannot see
# checker: smt
# task: smt_saturating_sub8
# expect: refuted
# reason: unsupported
# rule: an import binds only names the checker can list; `*` is refused

from builtins import *


def saturating_sub8(x, y):
    return max(x - y, 0)
