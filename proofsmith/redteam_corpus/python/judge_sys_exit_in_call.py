# attack: sys.exit(0) inside the function, mid-test
# checker: python
# task: py_add
# expect: refuted
# rule: the candidate's exit is a failed call in the judge

import sys

def add(a, b):
    sys.exit(0)
