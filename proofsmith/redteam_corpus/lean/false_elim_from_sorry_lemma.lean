-- attack: prove False through a helper lemma that uses sorry
-- checker: lean
-- task: lean_false_prop
-- expect: refuted
-- rule: audit: sorry anywhere

by
  have h : False := by sorry
  exact h
