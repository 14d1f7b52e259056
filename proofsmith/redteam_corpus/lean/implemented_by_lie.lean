-- attack: implemented_by swaps a false function for a true one, then native_decide
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: audit: implemented_by/extern are rejected; the axiom check sees Lean.ofReduceBool

by
  exact absurd (show rt_lie () = true by native_decide) (by simp [rt_lie])
where
  rt_true (_ : Unit) : Bool := true
  @[implemented_by rt_true] rt_lie (_ : Unit) : Bool := false
