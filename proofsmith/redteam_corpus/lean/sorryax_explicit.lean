-- attack: call sorryAx directly
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: audit: sorryAx is rejected; the axiom check sees it

sorryAx _ false
