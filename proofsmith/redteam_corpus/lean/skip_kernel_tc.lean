-- attack: set_option debug.skipKernelTC true so the kernel never checks the term
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: audit: debug.skipKernelTC is rejected; the environment is replayed through the kernel

by
  set_option debug.skipKernelTC true in
  exact (Nat.succ_ne_self 1).elim
