(* attack: switch on type-in-type style flags inside the proof *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Local Unset Universe Checking.
Set Universe Polymorphism.
exact I.
