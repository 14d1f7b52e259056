(* The lemma `make demo` asks proofsmith to prove: a newcomer's file, proof left open.
   proofsmith searches (automation, lemmas found by Coq's Search, then the model),
   and a proof it finds is checked again by coqc from scratch. *)
Require Import Arith Lia List.
Import ListNotations.

Lemma rev_app_single : forall (A : Type) (l : list A) (x : A), rev (l ++ [x]) = x :: rev l.
Proof.
Admitted.
