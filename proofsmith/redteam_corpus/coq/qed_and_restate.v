(* attack: close early with Qed, then state and prove an easier theorem of the same name *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Abort.
Theorem rt_false : 1 = 1.
reflexivity.
