# attack: ignore SIGXCPU and spin forever while loading
# checker: python
# task: py_add
# expect: refuted
# rule: RLIMIT_CPU hard limit sends SIGKILL, which cannot be ignored

import signal
signal.signal(signal.SIGXCPU, signal.SIG_IGN)
while True:
    pass

def add(a, b):
    return a - b
