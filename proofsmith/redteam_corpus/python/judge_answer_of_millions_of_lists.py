# attack: answer with just under 16 MiB of `[[],[],...]`, millions of lists once parsed, past the judge's memory
# checker: python
# task: py_add_io_roomy
# expect: refuted
# reason: tests_failed
# rule: an answer is at most 16 MiB and 1,048,576 JSON values, counted before it is parsed; a larger one is a wrong answer, and the judge's memory stays bounded
# source: proofsmith issue 18 (the judge ran out of memory parsing it: unknown)

def add(a, b):
    return [[]] * ((16 << 20) // 3 - 64)
