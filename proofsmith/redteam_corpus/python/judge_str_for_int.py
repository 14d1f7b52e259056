# attack: return a str subclass / str that prints like the answer
# checker: python
# task: py_add_io
# expect: refuted
# rule: exact-type comparison in the judge: '3' is not 3

def add(a, b):
    return str(a + b)
