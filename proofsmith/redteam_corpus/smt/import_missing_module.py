# attack: `import winreg` is a standard-library name but no such module exists on Linux
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: load_error
# rule: the program is loaded by CPython in the sandbox before verified

import winreg


def gray_encode(x):
    return x ^ (x >> 1)
