(* attack: the hammer option loads the stdlib module the lemma comes from; cite its compiled original *)
(* checker: coq *)
(* task: coq_hammer_own_library *)
(* expect: refuted *)
(* reason: dependencies *)
(* rule: with the hammer option, a proof may not depend on the task's own library or on one that needs it (Print All Dependencies, resolved by About) *)

apply Zbool.Zle_bool_plus_mono.
