-- attack: close the goal with `sorry`
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: audit: sorry/sorryAx is rejected; #print axioms shows sorryAx
-- source: DeepSeek-Prover-V1.5 completeness rule

by sorry
