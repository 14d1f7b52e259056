(* attack: hide admit inside a term: exact ltac:(admit) *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: admit is found inside any sentence *)

exact ltac:(admit).
