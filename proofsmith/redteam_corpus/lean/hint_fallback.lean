-- attack: a tactic that falls back to sorry with only a warning
-- checker: lean
-- task: lean_false_hint
-- expect: refuted
-- rule: the axiom check: #print axioms of the theorem must list no sorryAx (the stand-in models hint as a sorry macro without the warning)
-- source: SorryDB/SorryDB#197

by hint
