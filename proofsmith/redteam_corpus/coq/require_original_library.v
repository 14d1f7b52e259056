(* attack: Require the library that holds the original lemma inside the proof *)
(* checker: coq *)
(* task: coq_add_comm_prefix *)
(* expect: refuted *)
(* reason: audit *)
(* rule: audit: a proof may contain tactics only (every vernacular starts with a capital letter or #) *)

Require Import Arith.
apply Nat.add_comm.
