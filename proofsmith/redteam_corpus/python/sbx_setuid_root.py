# attack: become root inside the sandbox
# checker: python
# task: py_add
# expect: refuted
# rule: unprivileged slot uid, no_new_privs, no capabilities

import os
_WON = False
for attempt in (lambda: os.setuid(0), lambda: os.setgid(0), lambda: os.setgroups([0])):
    try:
        attempt()
        _WON = True
    except (OSError, ValueError):
        pass

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
