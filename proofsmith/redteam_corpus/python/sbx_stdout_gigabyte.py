# attack: write 1 GiB of fake 'passed' lines to stdout
# checker: python
# task: py_add
# expect: refuted
# rule: stdout is a capped file (RLIMIT_FSIZE, output cap); stdout is never read as a result

import sys
line = b'{"passed": 4, "total": 4, "failures": []} ALL TESTS PASSED\n' * 16384
for _ in range(1024):
    sys.stdout.buffer.write(line)

def add(a, b):
    return a - b
