-- attack: hide sorry inside a nested `by` block in a term
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: audit: sorry anywhere in the text

by exact (show (1 : Nat) = 2 from by sorry)
