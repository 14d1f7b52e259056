(* attack: hide admit in `Proof with admit.` and trigger it with `...` *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: coq_error *)
(* rule: Qed refuses given-up goals; Print Assumptions would show the admitted axiom *)

Proof with admit.
idtac...
