Require Import Arith Lia List Bool.
Import ListNotations.

(* proofsmith's coq-textbook suite: hand-written textbook lemmas over nat,
   lists, bool and logic, each with the proof a newcomer would write.
   Written for proofsmith; SPDX-License-Identifier: Apache-2.0. *)

(* ---- Arithmetic: one decision procedure or a stdlib lemma ---- *)

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

Lemma le_chain : forall a b c d : nat, a <= b -> b <= c -> c <= d -> a <= d.
Proof.
  intros a b c d H1 H2 H3. lia.
Qed.

Lemma mul_reverse_order : forall a b c : nat, a * b * c = c * b * a.
Proof.
  intros a b c. ring.
Qed.

Lemma le_max_left_user : forall a b : nat, a <= Nat.max a b.
Proof.
  intros a b. apply Nat.le_max_l.
Qed.

Lemma succ_not_zero : forall n : nat, S n <> 0.
Proof.
  intros n H. discriminate H.
Qed.

Lemma add_swap : forall n m : nat, n + m = m + n.
Proof.
  intros n m. lia.
Qed.

Lemma square_of_sum : forall a b : nat, (a + b) * (a + b) = a * a + 2 * a * b + b * b.
Proof.
  intros a b. ring.
Qed.

Lemma lt_gives_le : forall n m : nat, n < m -> n <= m.
Proof.
  intros n m H. lia.
Qed.

Lemma not_lt_self : forall n : nat, ~ (n < n).
Proof.
  intros n. lia.
Qed.

Lemma le_both_ways : forall n m : nat, n <= m -> m <= n -> n = m.
Proof.
  intros n m H1 H2. lia.
Qed.

Lemma sub_then_add : forall n m : nat, m <= n -> n - m + m = n.
Proof.
  intros n m H. lia.
Qed.

Lemma succ_inj : forall n m : nat, S n = S m -> n = m.
Proof.
  intros n m H. injection H as H. exact H.
Qed.

Lemma add_same_right : forall a b c : nat, a = b -> a + c = b + c.
Proof.
  intros a b c H. rewrite H. reflexivity.
Qed.

Lemma max_swap : forall a b : nat, Nat.max a b = Nat.max b a.
Proof.
  intros a b. apply Nat.max_comm.
Qed.

Lemma min_below_left : forall a b : nat, Nat.min a b <= a.
Proof.
  intros a b. apply Nat.le_min_l.
Qed.

Lemma max_below : forall a b c : nat, a <= c -> b <= c -> Nat.max a b <= c.
Proof.
  intros a b c Ha Hb. apply Nat.max_lub; assumption.
Qed.

Lemma below_max_cases : forall a b c : nat, c <= Nat.max a b -> c <= a \/ c <= b.
Proof.
  intros a b c H. apply Nat.max_le_iff. exact H.
Qed.

Lemma max_below_split : forall a b c : nat, Nat.max a b <= c -> a <= c /\ b <= c.
Proof.
  intros a b c H. apply Nat.max_lub_iff. exact H.
Qed.

Lemma apply_equal_args : forall (f : nat -> nat) (a b : nat), a = b -> f a = f b.
Proof.
  intros f a b H. congruence.
Qed.

Lemma three_plus_four : 3 + 4 = 7.
Proof.
  reflexivity.
Qed.

Lemma le_self_square : forall n : nat, n <= n * n.
Proof.
  intros n. nia.
Qed.

Lemma mod_two_small : forall n : nat, n mod 2 < 2.
Proof.
  intros n. apply Nat.mod_upper_bound. discriminate.
Qed.

Lemma sum_zero_both : forall n m : nat, n + m = 0 -> n = 0 /\ m = 0.
Proof.
  intros n m H. lia.
Qed.

Lemma le_has_difference : forall n m : nat, n <= m -> exists k, m = n + k.
Proof.
  intros n m H. exists (m - n). lia.
Qed.

Lemma eqb_true_eq : forall n m : nat, Nat.eqb n m = true -> n = m.
Proof.
  intros n m H. apply Nat.eqb_eq. exact H.
Qed.

Lemma ltb_false_ge : forall n m : nat, Nat.ltb n m = false -> m <= n.
Proof.
  intros n m H. apply Nat.ltb_ge. exact H.
Qed.

Lemma mul_succ_right_user : forall n m : nat, n * S m = n * m + n.
Proof.
  intros n m. ring.
Qed.

(* ---- Arithmetic by induction ---- *)

Lemma mul_zero_right : forall n : nat, n * 0 = 0.
Proof.
  intros n. induction n as [| n IH].
  - reflexivity.
  - simpl. exact IH.
Qed.

Lemma add_succ_right : forall n m : nat, n + S m = S (n + m).
Proof.
  intros n m. induction n as [| n IH].
  - reflexivity.
  - simpl. rewrite IH. reflexivity.
Qed.

(* builds on add_zero_right and add_succ_right *)
Lemma add_comm_by_induction : forall n m : nat, n + m = m + n.
Proof.
  intros n m. induction n as [| n IH].
  - simpl. rewrite add_zero_right. reflexivity.
  - simpl. rewrite IH. rewrite add_succ_right. reflexivity.
Qed.

Lemma zero_le_all : forall n : nat, 0 <= n.
Proof.
  intros n. induction n as [| n IH].
  - apply le_n.
  - apply le_S. exact IH.
Qed.

Lemma pow_two_positive : forall n : nat, 2 ^ n > 0.
Proof.
  intros n. induction n as [| n IH]; simpl; lia.
Qed.

Lemma lt_pow_two : forall n : nat, n < 2 ^ n.
Proof.
  intros n. induction n as [| n IH]; simpl; lia.
Qed.

Lemma eqb_self : forall n : nat, Nat.eqb n n = true.
Proof.
  intros n. induction n as [| n IH].
  - reflexivity.
  - simpl. exact IH.
Qed.

Lemma even_succ_flip : forall n : nat, Nat.even (S n) = negb (Nat.even n).
Proof.
  intros n. induction n as [| n IH].
  - reflexivity.
  - rewrite IH. rewrite negb_involutive. reflexivity.
Qed.

Lemma even_or_odd : forall n : nat, Nat.even n = true \/ Nat.odd n = true.
Proof.
  intros n. destruct (Nat.even n) eqn:E.
  - left. reflexivity.
  - right. unfold Nat.odd. rewrite E. reflexivity.
Qed.

Lemma double_is_even : forall n : nat, (exists m, n = 2 * m) -> Nat.even n = true.
Proof.
  intros n [m Hm]. rewrite Hm. rewrite Nat.even_mul. reflexivity.
Qed.

Lemma zero_or_succ : forall n : nat, n = 0 \/ exists m, n = S m.
Proof.
  intros n. destruct n as [| m].
  - left. reflexivity.
  - right. exists m. reflexivity.
Qed.

Lemma not_succ_self : forall n : nat, n <> S n.
Proof.
  intros n. induction n as [| n IH].
  - discriminate.
  - intros H. injection H as H. apply IH. exact H.
Qed.

(* ---- Lists: a stdlib lemma does it ---- *)

Lemma rev_keeps_length : forall (A : Type) (l : list A), length (rev l) = length l.
Proof.
  intros A l. apply rev_length.
Qed.

Lemma map_keeps_length : forall (A B : Type) (f : A -> B) (l : list A), length (map f l) = length l.
Proof.
  intros A B f l. apply map_length.
Qed.

Lemma app_length_sum : forall (A : Type) (l1 l2 : list A), length (l1 ++ l2) = length l1 + length l2.
Proof.
  intros A l1 l2. apply app_length.
Qed.

Lemma app_empty_right : forall (A : Type) (l : list A), l ++ [] = l.
Proof.
  intros A l. apply app_nil_r.
Qed.

Lemma rev_of_app : forall (A : Type) (l1 l2 : list A), rev (l1 ++ l2) = rev l2 ++ rev l1.
Proof.
  intros A l1 l2. apply rev_app_distr.
Qed.

Lemma map_of_app : forall (A B : Type) (f : A -> B) (l1 l2 : list A),
  map f (l1 ++ l2) = map f l1 ++ map f l2.
Proof.
  intros A B f l1 l2. apply map_app.
Qed.

Lemma map_twice : forall (A B C : Type) (f : A -> B) (g : B -> C) (l : list A),
  map g (map f l) = map (fun x => g (f x)) l.
Proof.
  intros A B C f g l. apply map_map.
Qed.

Lemma in_left_of_app : forall (A : Type) (x : A) (l1 l2 : list A), In x l1 -> In x (l1 ++ l2).
Proof.
  intros A x l1 l2 H. apply in_or_app. left. exact H.
Qed.

Lemma in_mapped : forall (A B : Type) (f : A -> B) (x : A) (l : list A), In x l -> In (f x) (map f l).
Proof.
  intros A B f x l H. apply in_map. exact H.
Qed.

Lemma map_of_rev : forall (A B : Type) (f : A -> B) (l : list A), map f (rev l) = rev (map f l).
Proof.
  intros A B f l. apply map_rev.
Qed.

Lemma firstn_then_skipn : forall (A : Type) (n : nat) (l : list A), firstn n l ++ skipn n l = l.
Proof.
  intros A n l. apply firstn_skipn.
Qed.

Lemma in_rev_back : forall (A : Type) (x : A) (l : list A), In x (rev l) -> In x l.
Proof.
  intros A x l H. apply in_rev. exact H.
Qed.

Lemma app_length_swap : forall (A : Type) (l1 l2 : list A), length (l1 ++ l2) = length (l2 ++ l1).
Proof.
  intros A l1 l2. rewrite app_length. rewrite app_length. lia.
Qed.

Lemma rev_app_length : forall (A : Type) (l1 l2 : list A), length (rev (l1 ++ l2)) = length l1 + length l2.
Proof.
  intros A l1 l2. rewrite rev_length. rewrite app_length. reflexivity.
Qed.

Lemma app_nil_left_part : forall (A : Type) (l1 l2 : list A), l1 ++ l2 = [] -> l1 = [].
Proof.
  intros A l1 l2 H. apply app_eq_nil in H. destruct H as [H1 H2]. exact H1.
Qed.

Lemma in_map_succ_not_zero : forall (l : list nat) (y : nat), In y (map S l) -> y <> 0.
Proof.
  intros l y H. apply in_map_iff in H. destruct H as [x [Hx Hin]]. lia.
Qed.

Lemma nth_past_end : forall (A : Type) (d : A) (l : list A) (n : nat), length l <= n -> nth n l d = d.
Proof.
  intros A d l n H. apply nth_overflow. exact H.
Qed.

Lemma sum_of_app : forall l1 l2 : list nat, list_sum (l1 ++ l2) = list_sum l1 + list_sum l2.
Proof.
  intros l1 l2. apply list_sum_app.
Qed.

(* ---- Lists by induction or cases ---- *)

Lemma length_zero_is_nil : forall (A : Type) (l : list A), length l = 0 -> l = [].
Proof.
  intros A l H. destruct l as [| x t].
  - reflexivity.
  - simpl in H. discriminate H.
Qed.

Lemma cons_not_nil : forall (A : Type) (x : A) (l : list A), x :: l <> [].
Proof.
  intros A x l H. discriminate H.
Qed.

Lemma in_tail_in_cons : forall (A : Type) (x y : A) (l : list A), In x l -> In x (y :: l).
Proof.
  intros A x y l H. simpl. right. exact H.
Qed.

Lemma nil_or_cons : forall (A : Type) (l : list A), l = [] \/ exists x t, l = x :: t.
Proof.
  intros A l. destruct l as [| x t].
  - left. reflexivity.
  - right. exists x, t. reflexivity.
Qed.

Lemma snoc_length : forall (A : Type) (x : A) (l : list A), length (l ++ [x]) = S (length l).
Proof.
  intros A x l. induction l as [| y l IH].
  - reflexivity.
  - simpl. rewrite IH. reflexivity.
Qed.

Lemma rev_snoc : forall (A : Type) (x : A) (l : list A), rev (l ++ [x]) = x :: rev l.
Proof.
  intros A x l. induction l as [| y l IH].
  - reflexivity.
  - simpl. rewrite IH. reflexivity.
Qed.

(* builds on rev_snoc *)
Lemma rev_twice_by_hand : forall (A : Type) (l : list A), rev (rev l) = l.
Proof.
  intros A l. induction l as [| x l IH].
  - reflexivity.
  - simpl. rewrite rev_snoc. rewrite IH. reflexivity.
Qed.

Lemma map_add_zero : forall l : list nat, map (fun x => x + 0) l = l.
Proof.
  intros l. induction l as [| x l IH].
  - reflexivity.
  - simpl. rewrite IH. rewrite Nat.add_0_r. reflexivity.
Qed.

Lemma filter_not_longer : forall (A : Type) (f : A -> bool) (l : list A), length (filter f l) <= length l.
Proof.
  intros A f l. induction l as [| x l IH].
  - simpl. lia.
  - simpl. destruct (f x); simpl; lia.
Qed.

Lemma count_by_ones : forall (A : Type) (l : list A), fold_right plus 0 (map (fun _ => 1) l) = length l.
Proof.
  intros A l. induction l as [| x l IH].
  - reflexivity.
  - simpl. rewrite IH. reflexivity.
Qed.

Lemma rev_nil_is_nil : forall (A : Type) (l : list A), rev l = [] -> l = [].
Proof.
  intros A l H. destruct l as [| x t].
  - reflexivity.
  - simpl in H. apply app_eq_nil in H. destruct H as [_ H]. discriminate H.
Qed.

(* ---- Booleans: case analysis ---- *)

Lemma negb_twice : forall b : bool, negb (negb b) = b.
Proof.
  intros b. destruct b; reflexivity.
Qed.

Lemma andb_swap : forall a b : bool, andb a b = andb b a.
Proof.
  intros a b. destruct a, b; reflexivity.
Qed.

Lemma andb_true_both : forall a b : bool, andb a b = true -> a = true /\ b = true.
Proof.
  intros a b H. destruct a, b; simpl in H; try discriminate H. split; reflexivity.
Qed.

Lemma negb_andb_orb : forall a b : bool, negb (andb a b) = orb (negb a) (negb b).
Proof.
  intros a b. destruct a, b; reflexivity.
Qed.

Lemma orb_negb_self : forall b : bool, orb b (negb b) = true.
Proof.
  intros b. destruct b; reflexivity.
Qed.

Lemma if_same_branches : forall (b : bool) (n : nat), (if b then n else n) = n.
Proof.
  intros b n. destruct b; reflexivity.
Qed.

Lemma negb_inj : forall a b : bool, negb a = negb b -> a = b.
Proof.
  intros a b H. destruct a, b; simpl in H; congruence.
Qed.

Lemma bool_eqb_true : forall a b : bool, Bool.eqb a b = true -> a = b.
Proof.
  intros a b H. destruct a, b; simpl in H; congruence.
Qed.

Lemma true_or_false : forall b : bool, b = true \/ b = false.
Proof.
  intros b. destruct b.
  - left. reflexivity.
  - right. reflexivity.
Qed.

Lemma implb_as_orb : forall a b : bool, implb a b = orb (negb a) b.
Proof.
  intros a b. destruct a, b; reflexivity.
Qed.

Lemma apply_thrice : forall (f : bool -> bool) (b : bool), f (f (f b)) = f b.
Proof.
  intros f b.
  destruct b; destruct (f true) eqn:Ht; destruct (f false) eqn:Hf;
    repeat (rewrite Ht || rewrite Hf); reflexivity.
Qed.

(* ---- Logic ---- *)

Lemma and_swap : forall P Q : Prop, P /\ Q -> Q /\ P.
Proof.
  intros P Q [HP HQ]. split.
  - exact HQ.
  - exact HP.
Qed.

Lemma or_swap : forall P Q : Prop, P \/ Q -> Q \/ P.
Proof.
  intros P Q [HP | HQ].
  - right. exact HP.
  - left. exact HQ.
Qed.

Lemma modus_ponens : forall P Q : Prop, P -> (P -> Q) -> Q.
Proof.
  intros P Q HP HPQ. apply HPQ. exact HP.
Qed.

Lemma contrapositive : forall P Q : Prop, (P -> Q) -> ~ Q -> ~ P.
Proof.
  intros P Q H HnQ HP. apply HnQ. apply H. exact HP.
Qed.

Lemma double_negation_intro : forall P : Prop, P -> ~ ~ P.
Proof.
  intros P HP HnP. apply HnP. exact HP.
Qed.

Lemma no_contradiction : forall P : Prop, ~ (P /\ ~ P).
Proof.
  intros P [HP HnP]. apply HnP. exact HP.
Qed.

Lemma forall_and_split : forall (A : Type) (P Q : A -> Prop),
  (forall x, P x /\ Q x) -> (forall x, P x) /\ (forall x, Q x).
Proof.
  intros A P Q H. split.
  - intros x. destruct (H x) as [HP HQ]. exact HP.
  - intros x. destruct (H x) as [HP HQ]. exact HQ.
Qed.

Lemma exists_or_split : forall (A : Type) (P Q : A -> Prop),
  (exists x, P x \/ Q x) -> (exists x, P x) \/ (exists x, Q x).
Proof.
  intros A P Q [x [HP | HQ]].
  - left. exists x. exact HP.
  - right. exists x. exact HQ.
Qed.

Lemma not_exists_all_not : forall (A : Type) (P : A -> Prop), ~ (exists x, P x) -> forall x, ~ P x.
Proof.
  intros A P H x HP. apply H. exists x. exact HP.
Qed.

Lemma exists_forall_swap : forall (A B : Type) (R : A -> B -> Prop),
  (exists x, forall y, R x y) -> forall y, exists x, R x y.
Proof.
  intros A B R [x Hx] y. exists x. apply Hx.
Qed.

Lemma always_bigger : forall n : nat, exists m, n < m.
Proof.
  intros n. exists (S n). lia.
Qed.

Lemma no_largest_nat : ~ (exists n : nat, forall m : nat, m <= n).
Proof.
  intros [n H]. specialize (H (S n)). lia.
Qed.

Lemma iff_chain : forall P Q R : Prop, (P <-> Q) -> (Q <-> R) -> (P <-> R).
Proof.
  intros P Q R. tauto.
Qed.

Lemma or_over_and : forall P Q R : Prop, P \/ (Q /\ R) -> (P \/ Q) /\ (P \/ R).
Proof.
  intros P Q R. intuition.
Qed.

Lemma curry_user : forall P Q R : Prop, (P /\ Q -> R) -> P -> Q -> R.
Proof.
  intros P Q R H HP HQ. apply H. split.
  - exact HP.
  - exact HQ.
Qed.

Lemma equal_args_two : forall (f : nat -> nat -> nat) (a b c d : nat), a = b -> c = d -> f a c = f b d.
Proof.
  intros f a b c d H1 H2. subst. reflexivity.
Qed.

Lemma step_three_times : forall P : nat -> Prop, P 0 -> (forall n, P n -> P (S n)) -> P 3.
Proof.
  intros P H0 HS. apply HS. apply HS. apply HS. exact H0.
Qed.

Lemma exists_times_three : exists n : nat, 3 * n = 12.
Proof.
  exists 4. reflexivity.
Qed.

Lemma not_not_excluded_middle : forall P : Prop, ~ ~ (P \/ ~ P).
Proof.
  intros P H. apply H. right. intros HP. apply H. left. exact HP.
Qed.

Lemma not_or_both_not : forall P Q : Prop, ~ (P \/ Q) -> ~ P /\ ~ Q.
Proof.
  intros P Q H. split.
  - intros HP. apply H. left. exact HP.
  - intros HQ. apply H. right. exact HQ.
Qed.
