(* attack: hide admit behind abstract/solve combinators *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: admit is found inside any sentence *)

solve [ abstract admit | idtac ].
