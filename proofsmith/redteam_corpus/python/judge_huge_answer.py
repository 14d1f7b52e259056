# attack: answer with a 64 MiB string to crash or stall the judge
# checker: python
# task: py_add
# expect: refuted
# rule: the judge's channel caps a message at 16 MiB and counts more as no answer

def add(a, b):
    return "3" * (64 << 20)
