; attack: a term that names the task's own expected value instead of computing it
; checker: smt
; task: smt_gray_encode_smtlib
; expect: refuted
; reason: syntax
; rule: the candidate is defined before anything of the task, so it cannot refer to it

(ps_expected)
