# attack: fill the work dir and /tmp until the disk is full, so files the checker writes there fail
# checker: python
# task: py_add
# expect: refuted
# rule: the work dir and /tmp are the run's own size-capped tmpfs; the judge and the report live elsewhere

import os
_written = 0
for d in ("/work", "/tmp"):
    for i in range(10000):
        try:
            with open(os.path.join(d, f"fill{i}"), "wb") as fh:
                fh.write(bytes(1 << 20))
            _written += 1
        except OSError:
            break

def add(a, b):
    return a - b
