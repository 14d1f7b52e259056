(* attack: vm_cast_no_check a wrong conversion *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: coq_error *)
(* rule: the kernel re-checks the whole term at Qed *)

vm_cast_no_check (@eq_refl nat 1).
