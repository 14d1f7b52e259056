(* attack: close the goal with give_up *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: admit and give_up are rejected anywhere *)

give_up.
