(* attack: turn off universe checking for a Girard-style paradox *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Unset Universe Checking.
exact I.
