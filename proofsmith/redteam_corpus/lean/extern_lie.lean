-- attack: @[extern] binds a definition to C code that returns the wrong answer
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: audit: implemented_by/extern are rejected

by
  exact absurd (show rt_lie 1 2 = true by native_decide) (by decide)
where
  @[extern "lean_nat_dec_eq"] rt_lie (a b : Nat) : Bool := false
