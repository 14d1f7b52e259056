(* attack: crash coqc with an infinitely recursive Ltac, hoping a crash reads as success *)
(* checker: coq *)
(* task: coq_false *)
(* expect: refuted *)
(* rule: Coq reports the stack overflow as an error in the proof; a crash would be unknown, never verified *)

let rec f := f in f.
