-- attack: the file before the theorem hijacks #print axioms with a macro; the proof cites an axiom
-- checker: lean
-- task: lean_false_hijacked
-- expect: refuted
-- rule: a canary axiom is printed first: a #print that hides it is caught, and the check fails
-- source: harbor-framework/terminal-bench-science#325

rt_cheat2
