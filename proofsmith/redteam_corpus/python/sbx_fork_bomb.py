# attack: fork until the machine runs out of processes
# checker: python
# task: py_add
# expect: refuted
# rule: per-slot pids cgroup (else RLIMIT_NPROC of the slot uid); the tree is killed at the end

import os, time
_count = 0
try:
    while _count < 2000:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        _count += 1
except OSError:
    pass
_WON = _count >= 1000

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
