# attack: answer with a list nested 100 000 deep to crash the judge's decoder
# checker: python
# task: py_add
# expect: refuted
# rule: the encoder refuses values nested deeper than 200; the judge catches RecursionError

def add(a, b):
    value = []
    for _ in range(100000):
        value = [value]
    return value
