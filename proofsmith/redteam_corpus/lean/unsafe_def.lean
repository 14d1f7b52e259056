-- attack: an unsafe definition proving False by self-reference
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: audit: unsafe/partial declarations are rejected

rt_loop ()
where
  unsafe rt_loop (u : Unit) : (1 : Nat) = 2 := rt_loop u
