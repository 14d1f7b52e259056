(* attack: print a fake assumption marker and 'Closed under the global context' *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: coq_error *)
(* rule: the marker is random per check; only the text after the real marker is read *)

idtac "ps_audit_marker_0000000000000000".
idtac "Closed under the global context".
reflexivity.
