# attack: `# coding: unicode_escape` turns \u000a in a comment into a line break, so an import runs a branch the text hides
# checker: smt
# task: smt_gray_encode
# expect: refuted
# reason: counterexample
# rule: the translation reads the bytes CPython imports, with their coding declaration

# coding: unicode_escape
def gray_encode(x):
    # \u000a    if x == 12345:\u000a        return 0
    return x ^ (x >> 1)
