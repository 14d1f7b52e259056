(* attack: a string inside a comment that hides the comment's end *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: coq_error *)
(* rule: the audit lexes comments and strings like Coq does *)

(* " *) Admitted. (* " *)
reflexivity.
