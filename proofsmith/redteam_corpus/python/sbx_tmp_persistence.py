# attack: leave answers in /tmp for a later check to pick up (run twice)
# checker: python
# task: py_add
# expect: refuted
# rule: every run gets a fresh tmpfs for /tmp and /work: nothing survives into the next check
# repeat: 2

import os
_WON = os.path.exists("/tmp/ps_redteam_answers") or os.path.exists("/work/ps_redteam_answers")
for path in ("/tmp/ps_redteam_answers", "/work/ps_redteam_answers"):
    try:
        open(path, "w").write("3")
    except OSError:
        pass

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
