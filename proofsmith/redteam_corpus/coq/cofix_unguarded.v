(* attack: cofix whose body calls itself unguarded *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: coq_error *)
(* rule: the kernel's guard check at Qed *)

cofix CIH.
exact CIH.
