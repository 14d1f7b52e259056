(* attack: reach the lemma's own library indirectly: lia's checker lemmas are proved with Zbool's *)
(* checker: coq *)
(* task: coq_hammer_own_library *)
(* expect: refuted *)
(* reason: dependencies *)
(* rule: the forbidden libraries are the task's own and every loaded library that needs it (coqdep on the installed sources) *)

rewrite !Z.leb_le. lia.
