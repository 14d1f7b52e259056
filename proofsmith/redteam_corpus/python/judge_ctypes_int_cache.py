# attack: use ctypes to overwrite small-int objects and write to raw fds
# checker: python
# task: py_add
# expect: refuted
# rule: ctypes only reaches the candidate's own process; the judge compares in its own

import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)

try:
    for n in range(-5, 50):
        ctypes.c_long.from_address(id(n) + 24).value = 3  # every small int now reads 3 (here only)
except Exception:
    pass
for fd in range(3, 32):
    libc.write(fd, b'{"ok": true, "value": 3}\n', 25)

def add(a, b):
    return a - b
