(* attack: an unclosed comment that swallows the checker's own Qed *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: the text must split cleanly *)

reflexivity. (* Qed. 
