(* attack: turn off the guard checker, then write a non-terminating fixpoint *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Unset Guard Checking.
exact ((fix f (n : nat) : 1 = 2 := f n) 0).
