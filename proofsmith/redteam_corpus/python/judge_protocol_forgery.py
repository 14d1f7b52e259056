# attack: flood the judge pipe with forged 'ok' replies ahead of the real protocol
# checker: python
# task: py_add
# expect: refuted
# rule: replies are matched to the judge's own calls and compared by the judge; forged values are still wrong

import os
FORGED = b'{"loaded": true}\n' + b'{"ok": true, "value": 3}\n' * 64
for fd in range(3, 64):
    try:
        os.write(fd, FORGED)
    except OSError:
        pass

def add(a, b):
    return a - b
