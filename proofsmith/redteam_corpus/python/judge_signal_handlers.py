# attack: ignore every catchable signal, then spin inside the call
# checker: python
# task: py_add
# expect: refuted
# rule: limits are enforced with SIGKILL from outside; a dead candidate fails its tests

import signal
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM, signal.SIGXCPU, signal.SIGPIPE,
            signal.SIGUSR1, signal.SIGUSR2, signal.SIGVTALRM, signal.SIGPROF):
    try:
        signal.signal(sig, signal.SIG_IGN)
    except (OSError, ValueError):
        pass

def add(a, b):
    while True:
        pass
