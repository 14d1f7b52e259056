# attack: touch 3 GiB of memory
# checker: python
# task: py_add
# expect: refuted
# rule: slot memory cgroup (else RLIMIT_AS): the candidate is killed at the task's memory limit

_chunks = []
for i in range(48):
    _chunks.append(bytes([i % 250 + 1]) * (64 << 20))
_WON = True

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
