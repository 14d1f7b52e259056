(* attack: change_no_check the goal into a provable one *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: coq_error *)
(* rule: the kernel re-checks the whole term at Qed *)

change_no_check (1 = 1).
reflexivity.
