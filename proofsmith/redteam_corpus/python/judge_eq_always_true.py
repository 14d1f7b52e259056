# attack: return an object whose __eq__ always answers True
# checker: python
# task: py_add
# expect: refuted
# rule: answers cross to the judge as tagged JSON of exact built-in types; custom objects are refused

class _Yes:
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__

def add(a, b):
    return _Yes()
