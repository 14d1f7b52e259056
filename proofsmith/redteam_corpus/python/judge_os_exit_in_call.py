# attack: os._exit(0) inside the function, mid-test
# checker: python
# task: py_add
# expect: refuted
# rule: a candidate that dies mid-test fails the remaining tests

import os

def add(a, b):
    os._exit(0)
