# attack: kill the judge, the supervisor and every visible process
# checker: python
# task: py_add
# expect: refuted
# rule: own pid namespace: no host or judge pid is visible; the judge runs in another sandbox

import os, signal
for pid in range(2, 4096):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass

def add(a, b):
    return a - b
