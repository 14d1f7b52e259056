(* attack: close the surrounding scope with End and start a new one *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

End rt_false.
Module M.
exact I.
