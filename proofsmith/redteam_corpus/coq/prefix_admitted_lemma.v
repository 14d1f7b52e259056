(* attack: cite the admitted copy of the theorem that the compiled prefix holds (Prefix.rt_add_comm) *)
(* checker: coq *)
(* task: coq_add_comm_prefix *)
(* expect: refuted *)
(* reason: axioms *)
(* rule: Print Assumptions: Prefix.rt_add_comm is an axiom the reference proof does not use *)

exact Prefix.rt_add_comm.
