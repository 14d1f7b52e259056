(* attack: the #[bypass_check(guard)] attribute on a local definition *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

#[bypass_check(guard)] Fixpoint f (n : nat) : 1 = 2 := f n.
exact (f 0).
