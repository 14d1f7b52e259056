"""MCTS over partial proofs and programs (PUCT, transpositions, a novelty bonus, virtual loss).

- Nodes are points of a step space: for Coq, checker states (the goals after
  each tactic). A transposition table keyed by the state hash makes equal
  goals one node, whichever tactics reached them; a step back to a state on
  the current path is dropped (it would make a cycle).
- Selection: PUCT, Q + c * P * sqrt(N_parent) / (1 + N_child). Priors P are
  the softmax of the policy's log-probabilities of the sibling steps.
- Expansion: `expand` steps sampled from the policy at the leaf.
- Evaluation: each new node starts with one visit worth its score (the PRM's,
  else the space's checker feedback); a node with no goals left (a finished
  program) is checked exactly: verified ends the search, refuted is dead.
  The leaf's value is its best new child plus `novelty` when the expansion
  reached a state never seen before (RMaxTS's intrinsic reward, from
  DeepSeek-Prover-V1.5), so the search favours subtrees that keep finding
  new states.
- Dead ends: a node whose steps were all rejected, or all of whose children
  are dead, is dead and never selected again; a dead root restarts the tree,
  unless the last tree sampled and checked nothing new (a policy that
  proposes nothing, automation that has tried everything): then the search
  ends, as exhausted.
- Virtual loss: with `parallel` > 1, that many leaves are selected per round,
  each selection adding `virtual_loss` visits along its path so the next
  one goes elsewhere; their expansions run on threads (the checker calls in
  parallel; llama.cpp batches the requests). Request order then depends on
  timing, so only `parallel=1` replays exactly for a fixed seed.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from proofsmith.models.base import Policy
from proofsmith.schema import Task
from proofsmith.search.base import Examples, ProcessRewardModel, SearchResult
from proofsmith.search.budget import Budget, BudgetExhausted
from proofsmith.search.checker import SearchChecker
from proofsmith.search.episode import Episode
from proofsmith.search.space import Child, Point, Space, finish, space_for
from proofsmith.search.trace import TraceWriter


@dataclass(eq=False)
class _Node:
    point: Point
    depth: int
    visits: float = 1.0
    total: float = 0.0
    #: (child, prior) pairs; None until expanded
    edges: list[tuple[_Node, float]] | None = None
    dead: bool = False

    @property
    def q(self) -> float:
        return self.total / self.visits if self.visits > 0 else 0.0


@dataclass
class MCTS:
    """Monte Carlo tree search over steps (see the module docstring)."""

    expand: int = 4
    c_puct: float = 1.5
    novelty: float = 0.3
    virtual_loss: float = 1.0
    parallel: int = 1
    max_depth: int = 24
    temperature: float = 0.8
    steps: str = "auto"
    name: str = "mcts"

    def run(self, task: Task, policy: Policy, checker: SearchChecker, prm: ProcessRewardModel | None,
            budget: Budget, *, seed: int = 0, trace: TraceWriter | None = None,
            examples: Examples = ()) -> SearchResult:
        """Search until a candidate verifies or the budget runs out."""
        ep = Episode(task, policy, checker, prm, budget, strategy=self.name, seed=seed, trace=trace, examples=examples,
                     info={"expand": self.expand, "c_puct": self.c_puct, "novelty": self.novelty,
                           "parallel": self.parallel, "max_depth": self.max_depth})
        table: dict[str, _Node] = {}
        try:
            space = space_for(ep, steps=self.steps)
            root = _new_root(space, table)
            progress = _progress(ep)
            while not ep.solved:
                if root.dead:
                    if _progress(ep) == progress:
                        # a whole tree with no new proposal and no new check: another would be the same tree
                        ep.count("exhausted")
                        break
                    progress = _progress(ep)
                    ep.count("restarts")
                    root = _new_root(space, table)
                paths = []
                for _ in range(max(1, self.parallel)):
                    path = self._select(root)
                    if path is None or any(path[-1] is other[-1] for other in paths):
                        break  # no leaf left, or virtual loss led back to a leaf this round already expands
                    for node in path:
                        node.visits += self.virtual_loss
                    paths.append(path)
                if not paths:
                    root.dead = True
                    continue
                if len(paths) == 1:
                    expansions = [self._expand_leaf(space, paths[0][-1])]
                else:
                    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
                        expansions = list(pool.map(lambda p: self._expand_leaf(space, p[-1]), paths))
                for path, children in zip(paths, expansions, strict=True):
                    for node in path:
                        node.visits -= self.virtual_loss
                    if ep.solved:
                        break
                    value = self._evaluate(ep, space, table, path, children)
                    for node in path:
                        node.visits += 1
                        node.total += value
        except BudgetExhausted:
            pass
        ep.stats["tree_size"] = len(table)
        return ep.result()

    def _select(self, root: _Node) -> list[_Node] | None:
        """The path from the root to a leaf to expand, or None when every path is dead."""
        while not root.dead:
            path, node = [root], root
            while node.edges is not None:
                live = [(child, prior) for child, prior in node.edges if not child.dead and child not in path]
                if not live:
                    node.dead = True  # and select again from the root
                    break
                sqrt_n = math.sqrt(node.visits)
                node = max(live, key=lambda e: e[0].q + self.c_puct * e[1] * sqrt_n / (1 + e[0].visits))[0]
                path.append(node)
            else:
                if node.depth < self.max_depth:
                    return path
                node.dead = True
        return None

    def _expand_leaf(self, space: Space, leaf: _Node) -> list[Child] | BaseException:
        try:
            return space.expand(leaf.point, self.expand, self.temperature)
        except BudgetExhausted as exc:  # raised again in the main thread, after virtual losses are undone
            return exc

    def _evaluate(self, ep: Episode, space: Space, table: dict[str, _Node], path: list[_Node],
                  children: list[Child] | BaseException) -> float:
        if isinstance(children, BaseException):
            raise children
        leaf = path[-1]
        leaf.edges = []
        if not children:
            leaf.dead = True
            return 0.0
        top = max(c.logprob for c in children)
        weights = [math.exp(c.logprob - top) for c in children]
        norm = sum(weights)
        best, novel = 0.0, False
        for child, weight in zip(children, weights, strict=True):
            if child.point.done:
                # every finished proof has the same (empty) goals: each is a different candidate, checked on its own
                node = _Node(point=child.point, depth=leaf.depth + 1, total=child.score, dead=True)
                leaf.edges.append((node, weight / norm))
                if finish(ep, space, child.point, child.score):
                    return 1.0
                continue
            known = table.get(child.point.hash)
            if known is not None:
                ep.count("transpositions")
                if known in path:
                    ep.count("cycles")
                    continue
                leaf.edges.append((known, weight / norm))
                best = max(best, known.q)
                continue
            novel = True
            node = _Node(point=child.point, depth=leaf.depth + 1, total=child.score)
            table[child.point.hash] = node
            leaf.edges.append((node, weight / norm))
            best = max(best, child.score)
        if not leaf.edges or all(child.dead for child, _ in leaf.edges):
            leaf.dead = True
        return min(1.0, best + (self.novelty if novel else 0.0))


def _progress(ep: Episode) -> tuple[int, int]:
    spend = ep.meter.spend
    return spend.model_calls, spend.checker_calls


def _new_root(space: Space, table: dict[str, _Node]) -> _Node:
    table.clear()
    root = _Node(point=space.root(), depth=0, total=0.5)
    table[root.point.hash] = root
    return root
