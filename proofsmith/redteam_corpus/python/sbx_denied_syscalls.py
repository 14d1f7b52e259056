# attack: load a BPF program or use keyrings / userfaultfd / io_uring
# checker: python
# task: py_add
# expect: refuted
# rule: seccomp deny-list answers EPERM

import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)

import platform
_WON = False
if platform.machine() == "x86_64":
    for nr in (321, 250, 323, 425, 298):  # bpf, keyctl, userfaultfd, io_uring_setup, perf_event_open
        if libc.syscall(nr, 0, 0, 0, 0, 0) >= 0:
            _WON = True

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
