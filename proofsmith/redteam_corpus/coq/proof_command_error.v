(* attack: an error in the candidate's own Proof with ... sentence sits before the body: read as the task's context *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: coq_error *)
(* rule: the candidate's Proof sentence is the candidate's: its errors refute *)
(* source: proofsmith issue #18 item 4 *)

Proof with no_such_tactic.
reflexivity.
