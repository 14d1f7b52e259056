(* attack: declare an axiom for the goal and use it *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)
(* source: PrimeIntellect-ai/verifiers#2177 (the Lean twin) *)

Axiom cheat : 1 = 2.
exact cheat.
