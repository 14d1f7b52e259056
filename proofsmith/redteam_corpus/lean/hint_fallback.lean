-- attack: a tactic that falls back to sorry with only a warning
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: a `declaration uses 'sorry'` warning is a failure; the axiom check sees sorryAx
-- source: SorryDB/SorryDB#197

by hint
