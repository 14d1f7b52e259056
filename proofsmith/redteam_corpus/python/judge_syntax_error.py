# attack: a syntax error, so a naive runner collects no failing test
# checker: python
# task: py_add
# expect: refuted
# rule: a program that does not load is refuted; zero assertions run is never a pass
# source: SWE-bench/SWE-smith#24

def add(a, b)
    return a + b
