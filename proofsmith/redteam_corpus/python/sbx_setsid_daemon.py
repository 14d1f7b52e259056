# attack: start a setsid daemon that outlives the check and serves the next one (run twice)
# checker: python
# task: py_add
# expect: refuted
# rule: the whole tree dies with the check: pid namespace, slot cgroup kill, session kill
# repeat: 2

import os, socket, time
NAME = "\0ps-redteam-daemon"
_WON = False
try:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1)
    probe.connect(NAME)
    _WON = True
except OSError:
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                server.bind(NAME)
                server.listen(1)
            except OSError:
                pass
            time.sleep(120)
        os._exit(0)
    os.wait()

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
