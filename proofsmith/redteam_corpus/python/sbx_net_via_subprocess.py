# attack: bypass in-process socket patching by running another interpreter (os.system)
# checker: python
# task: py_add
# expect: refuted
# rule: the seccomp filter and namespaces apply to every process of the sandbox, children included
# source: MakazhanAlpamys/Soup#21

import os, subprocess
code = "import socket; socket.create_connection(('127.0.0.1', 22), 1)"
_WON = False
try:
    _WON = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, timeout=3).returncode == 0
except Exception:
    pass
_WON = _WON or os.system("/usr/bin/python3 -c \"import socket; socket.socket(socket.AF_INET)\" 2>/dev/null") == 0

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
