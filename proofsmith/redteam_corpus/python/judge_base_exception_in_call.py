# attack: raise KeyboardInterrupt / GeneratorExit from the function
# checker: python
# task: py_add
# expect: refuted
# rule: the candidate's exceptions become a failed call in the judge

class _Stop(BaseException):
    pass

_CALLS = [0]

def add(a, b):
    _CALLS[0] += 1
    raise (KeyboardInterrupt, GeneratorExit, _Stop, SystemExit)[_CALLS[0] % 4]()
