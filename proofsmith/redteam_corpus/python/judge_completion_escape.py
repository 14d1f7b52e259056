# attack: a HumanEval-style completion that closes the function and redefines it
# checker: python
# task: py_add
# expect: refuted
# rule: the completion is appended to the prompt and run by the judge against the same tests
# completion: true

    return 0

def add(a, b):
    return a - b
