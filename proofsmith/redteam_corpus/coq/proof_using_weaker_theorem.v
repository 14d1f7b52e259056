(* attack: a leading Proof. replaces the task's Proof using n., so the proof may use the section's False hypothesis and exports False -> ... *)
(* checker: coq *)
(* task: coq_section_using *)
(* expect: refuted *)
(* rule: the task's Proof using is never replaced; the exported theorem must have the task's type *)
(* source: proofsmith issue #18 item 3 *)

Proof.
  intros _. exact (False_ind _ H).
Qed.
