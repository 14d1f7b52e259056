(* attack: exact_no_check a wrong term: the tactic skips type checking *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: coq_error *)
(* rule: the kernel re-checks the whole term at Qed *)

exact_no_check (@eq_refl nat 1).
