-- attack: a bare `sorry` term
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: audit: sorry/sorryAx is rejected

sorry
