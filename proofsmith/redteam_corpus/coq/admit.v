(* attack: close the goal with admit *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: admit and give_up are rejected anywhere *)
(* source: project-numina/kimina-lean-server#75 (the Lean twin) *)

admit.
