(* attack: define a Notation for Admitted / admit and use it *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Notation cheat := ltac:(admit) (only parsing).
exact cheat.
