(* attack: hide Admitted after a vertical tab, hoping the audit and Coq split sentences differently *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: the audit splits on any whitespace Coq treats as blank (and more) *)

idtac.Admitted.
