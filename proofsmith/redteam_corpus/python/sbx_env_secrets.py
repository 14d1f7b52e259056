# attack: steal tokens from the environment
# checker: python
# task: py_add
# expect: refuted
# rule: bwrap --clearenv: the sandbox sees only PATH, HOME, LANG and TMPDIR

import os
_WON = any(k not in {"PATH", "HOME", "LANG", "TMPDIR", "PWD", "LC_CTYPE", "SHLVL", "_"} for k in os.environ)

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
