# attack: sleep past the timeout inside the function
# checker: python
# task: py_add
# expect: refuted
# reason: timeout
# rule: a candidate that does not answer within its wall-clock budget on a healthy machine is refuted (timeout), never verified

import time

def add(a, b):
    time.sleep(3600)
