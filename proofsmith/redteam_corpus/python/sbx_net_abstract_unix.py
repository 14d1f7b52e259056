# attack: connect to the host's abstract unix sockets (reachable through a shared netns)
# checker: python
# task: py_add
# expect: refuted
# rule: own network namespace per sandbox: no abstract socket of the host or of another check is visible

import socket
_WON = False
names = []
try:
    for line in open("/proc/net/unix").read().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 8 and parts[7].startswith("@"):
            names.append("\0" + parts[7][1:])
except OSError:
    pass
names += ["\0/tmp/.X11-unix/X0", "\0/org/freedesktop/systemd1/notify", "\0proofsmith"]
for name in names:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(1)
        s.connect(name)
        _WON = True
    except OSError:
        pass

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
