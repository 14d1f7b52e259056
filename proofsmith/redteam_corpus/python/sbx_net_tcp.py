# attack: open an AF_INET socket and reach the host's loopback services to fetch answers
# checker: python
# task: py_add
# expect: refuted
# rule: seccomp allows only AF_UNIX sockets; the sandbox has its own empty network namespace

import socket
_WON = False
for port in (22, 53, 80, 443, 8000, 8080):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        _WON = True
        s.close()
    except OSError:
        pass
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
    _WON = True
except OSError:
    pass

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
