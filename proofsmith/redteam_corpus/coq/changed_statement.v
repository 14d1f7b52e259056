(* attack: Abort and restate the theorem with a weaker statement *)
(* checker: coq *)
(* task: coq_add_comm_prefix *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Abort.
Theorem rt_add_comm : forall n m : nat, n + m = n + m.
reflexivity.
