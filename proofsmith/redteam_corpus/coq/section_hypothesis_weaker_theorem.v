(* attack: use a section hypothesis the statement does not need: after End S the theorem is False -> n = n *)
(* checker: coq *)
(* task: coq_section_plain *)
(* expect: refuted *)
(* reason: statement *)
(* rule: after the closers, proofsmith's own command checks the exported theorem has exactly the task's type *)
(* source: proofsmith issue #18 item 3 *)

exact (False_ind _ H).
