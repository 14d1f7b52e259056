(* attack: define a Tactic Notation for admit *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Tactic Notation "finish" := admit.
finish.
