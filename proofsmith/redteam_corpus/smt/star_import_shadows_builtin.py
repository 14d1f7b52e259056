# attack: `from builtins import *` binds names the translator cannot see (`max` could be anything after it)
# checker: smt
# task: smt_saturating_sub8
# expect: refuted
# reason: unsupported
# rule: `*` is modelled only for nine side-effect-free stdlib modules whose names the candidates' interpreter lists

from builtins import *


def saturating_sub8(x, y):
    return max(x - y, 0)
