Require Import Arith Lia List Bool.

(* Ten textbook lemmas, as a user's own file (proofsmith's coq-textbook suite has them too).
   Written for proofsmith; SPDX-License-Identifier: Apache-2.0. *)

Lemma add_zero_right : forall n : nat, n + 0 = n.
Proof.
  intros n. induction n as [| n IH].
  - reflexivity.
  - simpl. rewrite IH. reflexivity.
Qed.

Lemma double_is_twice : forall n : nat, n + n = 2 * n.
Proof.
  intros n. lia.
Qed.

Lemma rev_keeps_length : forall (A : Type) (l : list A), length (rev l) = length l.
Proof.
  intros A l. apply rev_length.
Qed.

Lemma le_chain : forall a b c d : nat, a <= b -> b <= c -> c <= d -> a <= d.
Proof.
  intros a b c d H1 H2 H3. lia.
Qed.

Lemma mul_reverse_order : forall a b c : nat, a * b * c = c * b * a.
Proof.
  intros a b c. ring.
Qed.

Lemma map_keeps_length : forall (A B : Type) (f : A -> B) (l : list A), length (map f l) = length l.
Proof.
  intros A B f l. apply map_length.
Qed.

Lemma le_max_left_user : forall a b : nat, a <= Nat.max a b.
Proof.
  intros a b. apply Nat.le_max_l.
Qed.

Lemma app_length_sum : forall (A : Type) (l1 l2 : list A), length (l1 ++ l2) = length l1 + length l2.
Proof.
  intros A l1 l2. apply app_length.
Qed.

Lemma negb_twice : forall b : bool, negb (negb b) = b.
Proof.
  intros b. destruct b; reflexivity.
Qed.

Lemma and_swap : forall P Q : Prop, P /\ Q -> Q /\ P.
Proof.
  intros P Q [HP HQ]. split.
  - exact HQ.
  - exact HP.
Qed.
