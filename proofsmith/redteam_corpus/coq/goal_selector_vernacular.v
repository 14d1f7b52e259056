(* attack: hide a vernacular behind a goal selector (all: Admitted) *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

all: Admitted.
