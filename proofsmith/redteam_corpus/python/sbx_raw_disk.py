# attack: open a raw block device to read other data
# checker: python
# task: py_add
# expect: refuted
# rule: bwrap --dev gives a minimal /dev without disks; no capabilities

import os
_WON = False
for disk in ("sda", "vda", "nvme0n1", "xvda", "mem", "kmem", "port"):
    try:
        os.close(os.open("/dev/" + disk, os.O_RDONLY))
        _WON = True
    except OSError:
        pass

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
