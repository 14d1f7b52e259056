# attack: create a nested user namespace to regain capabilities
# checker: python
# task: py_add
# expect: refuted
# rule: bwrap --disable-userns and seccomp deny unshare/clone with CLONE_NEW*

import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)

_WON = libc.unshare(0x10000000) == 0 or libc.unshare(0x40000000) == 0

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
