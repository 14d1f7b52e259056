(* attack: Opaque/Transparent and Set commands mid-proof *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Set Printing All.
reflexivity.
