import Mathlib
import Aesop

set_option maxHeartbeats 400000

open BigOperators Real Nat Topology Rat

/-- Hand-written sample in the layout of miniF2F's Lean 4 split files (not miniF2F data). -/
theorem sample_algebra_1 (b h v : ℝ) (h₀ : 0 < b ∧ 0 < h ∧ 0 < v) (h₁ : v = 1 / 3 * (b * h))
    (h₂ : b = 30) (h₃ : h = 13 / 2) : v = 65 := by
  sorry

theorem sample_numbertheory_2 : (29 ^ 13 - 5 ^ 13) % 7 = 3 := by sorry

/-- A statement whose default argument holds `:=` before the proof. -/
theorem sample_induction_3 (n : ℕ) (f : ℕ → ℕ := fun x => x) (h₀ : ∀ k, f k = k) :
    ∑ k in Finset.range n, f k = n * (n - 1) / 2 :=
  sorry
