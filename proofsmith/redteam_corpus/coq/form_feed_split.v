(* attack: hide Admitted after a form feed *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: the audit splits on any whitespace Coq treats as blank *)

idtac.Admitted.
