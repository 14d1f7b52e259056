# attack: sleep past the timeout while loading, hoping a timeout reads as a pass
# checker: python
# task: py_add
# expect: refuted
# reason: timeout
# rule: a candidate that does not answer within its wall-clock budget on a healthy machine is refuted (timeout), never verified
# source: project-numina/lean-lsp-mcp#10

import time
time.sleep(3600)

def add(a, b):
    return a - b
