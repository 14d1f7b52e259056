(* attack: leave an existential variable open with shelve *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: coq_error *)
(* rule: Qed refuses unresolved existential variables and unfinished goals *)

shelve.
