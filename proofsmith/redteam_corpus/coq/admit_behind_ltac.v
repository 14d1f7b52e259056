(* attack: define an Ltac that admits and call it *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Ltac done_ := admit.
done_.
