(* attack: spin until the checker gives up, hoping a timeout reads as success *)
(* checker: coq *)
(* task: coq_false_short *)
(* expect: refuted *)
(* reason: timeout *)
(* rule: coqc killed at the wall limit is refuted (timeout; unknown only under measured overload), never verified *)
(* source: project-numina/lean-lsp-mcp#10 (timeout read as 0 diagnostics) *)

do 1000000000 idtac.
