-- attack: restate the theorem with a weaker statement under the same name (1 = 1 for 1 = 2)
-- checker: lean
-- task: lean_false
-- expect: refuted
-- reason: statement
-- rule: a restated theorem must be the task's statement exactly; the checker writes the statement itself

theorem rt_false : (1 : Nat) = 1 := rfl
