(* attack: a non-structural fix built by the fix tactic *)
(* checker: coq *)
(* task: coq_false_forall *)
(* expect: refuted *)
(* reason: coq_error *)
(* rule: the kernel's guard check at Qed *)

fix IH 1.
intro n.
exact (IH n).
