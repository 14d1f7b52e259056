# attack: send a UDP datagram over IPv6 (DNS exfiltration)
# checker: python
# task: py_add
# expect: refuted
# rule: seccomp allows only AF_UNIX sockets

import socket
_WON = False
try:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.sendto(b"leak", ("::1", 53))
    _WON = True
except OSError:
    pass

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
