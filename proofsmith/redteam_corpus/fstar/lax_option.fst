// attack: #set-options "--lax"
// checker: fstar
// task: fstar_false
// expect: refuted
// rule: audit: options that admit or lax-check are rejected

#set-options "--lax"
let rt_false () = ()
