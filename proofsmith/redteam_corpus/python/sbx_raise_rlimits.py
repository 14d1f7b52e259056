# attack: raise the CPU, file-size and open-file hard limits
# checker: python
# task: py_add
# expect: refuted
# rule: hard rlimits set before exec; raising them needs CAP_SYS_RESOURCE, which is dropped

import resource
_WON = False
for res in (resource.RLIMIT_CPU, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE, resource.RLIMIT_CORE):
    try:
        resource.setrlimit(res, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        _WON = True
    except (ValueError, OSError):
        pass

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
