(* attack: native_compute makes the OCaml compiler report its generated .ml at line 1, read as "the context does not compile" (unknown) *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: coq_error *)
(* rule: error locations are taken only from the checked file itself *)
(* source: proofsmith issue #18 item 4 *)

native_compute. reflexivity.
