# attack: sleep past the timeout inside the function
# checker: python
# task: py_add
# expect: unknown
# reason: timeout
# rule: a timeout is `unknown`, never verified

import time

def add(a, b):
    time.sleep(3600)
