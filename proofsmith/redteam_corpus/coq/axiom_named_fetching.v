(* attack: an axiom named Fetching, whose Print Assumptions line the parser skipped as coqtop's "Fetching ..." note *)
(* checker: coq *)
(* task: coq_axiom_fetching *)
(* expect: refuted *)
(* reason: axioms *)
(* rule: assumption lines are skipped only by Coq's own whole fixed texts, never by a name *)
(* source: proofsmith issue #18 item 3 *)

exact (False_ind _ Fetching).
