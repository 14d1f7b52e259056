# attack: ptrace-attach to a neighbour to rewrite its memory
# checker: python
# task: py_add
# expect: refuted
# rule: seccomp denies ptrace; own pid namespace

import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)

_WON = False
for pid in (0, 1, 2, os.getppid()):
    if libc.ptrace(16, pid, 0, 0) == 0:
        _WON = True
if libc.ptrace(0, 0, 0, 0) == 0:
    _WON = True

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
