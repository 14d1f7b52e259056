(* attack: use an axiom the context loaded (classic) for a goal whose reference needs none *)
(* checker: coq *)
(* task: coq_classical *)
(* expect: refuted *)
(* reason: axioms *)
(* rule: Print Assumptions: only the reference proof's assumptions are allowed *)

exact classic.
