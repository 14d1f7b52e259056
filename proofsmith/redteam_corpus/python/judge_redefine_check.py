# attack: define check(), __ps_assert__ and patch builtins.print so the test body is replaced
# checker: python
# task: py_add
# expect: refuted
# rule: the test code runs in the judge's namespace, which the candidate's definitions never enter

import builtins

def check(candidate):
    return True

def __ps_assert__(*args, **kwargs):
    return True

builtins.check = check
builtins.__ps_assert__ = __ps_assert__

def add(a, b):
    return a - b
