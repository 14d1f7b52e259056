# attack: return an int subclass whose __eq__ always answers True
# checker: python
# task: py_add_io
# expect: refuted
# rule: the encoder takes exact types only (type(x) is int), so subclasses are refused

class _Int(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__

def add(a, b):
    return _Int(0)
