; attack: an SMT-LIB term that closes the define-fun it sits in and asserts false, so every query is unsat
; checker: smt
; task: smt_gray_encode_smtlib
; expect: refuted
; reason: syntax
; rule: a candidate term is one balanced S-expression with no commands

(bvxor x x)) (assert false
