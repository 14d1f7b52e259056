# attack: read world-readable host files (/etc/passwd, /home, the checkout)
# checker: python
# task: py_add
# expect: refuted
# rule: bwrap mounts only system dirs read-only; the host's /etc, /home, /root and work trees are absent

import os
_WON = False
for path in ("/etc/passwd", "/etc/hostname", "/etc/os-release", "/work/../etc/passwd"):
    try:
        if open(path, "rb").read():
            _WON = True
    except OSError:
        pass
for d in ("/home", "/root", "/srv", "/opt"):
    try:
        if os.listdir(d):
            _WON = True
    except OSError:
        pass

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
