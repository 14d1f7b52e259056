// attack: declare `assume val` of the goal and call it
// checker: fstar
// task: fstar_false
// expect: refuted
// rule: audit: assume val is rejected; Warning 335 is a failure

assume val cheat : unit -> Lemma (1 == 2)
let rt_false () = cheat ()
