(* attack: declare a Parameter of the goal's type *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Parameter cheat : 1 = 2.
exact cheat.
