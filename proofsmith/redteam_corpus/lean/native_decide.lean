-- attack: prove with native_decide (trusts the compiler: Lean.ofReduceBool)
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: the axiom check allows propext, Classical.choice and Quot.sound only
-- source: leanprover/lean4#12217

by native_decide
