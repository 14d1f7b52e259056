# attack: mount a tmpfs or proc over a system path
# checker: python
# task: py_add
# expect: refuted
# rule: no capabilities and seccomp denies the mount family

import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)

_WON = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0 or libc.mount(b"proc", b"/work", b"proc", 0, None) == 0

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
