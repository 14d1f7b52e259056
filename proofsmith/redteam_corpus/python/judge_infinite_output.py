# attack: print forever while loading
# checker: python
# task: py_add
# expect: refuted
# rule: output cap / RLIMIT_FSIZE on the candidate's output file; the candidate never answers

while True:
    print("ALL TESTS PASSED " * 64)

def add(a, b):
    return a - b
