(* attack: close with Qed then Print Assumptions of another lemma *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Qed.
Print Assumptions I.
