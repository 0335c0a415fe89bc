"""Dependency graph algorithms over formula nodes numbered 0..n-1.

Everything is iterative: growth chains in financial models run thousands of
cells deep, far beyond Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Tick = Callable[[int], None]


def _nothing(done: int) -> None:
    pass


__all__ = ["dependents_of", "evaluation_plan", "strongly_connected"]


def dependents_of(precedents: Sequence[Sequence[int]], tick: Tick = _nothing) -> list[list[int]]:
    """Reverse edges: for each node, the nodes that read it. ``tick(i)`` every 4096 nodes."""
    dependents: list[list[int]] = [[] for _ in range(len(precedents))]
    for i, precs in enumerate(precedents):
        if not i & 4095:
            tick(i)
        for p in precs:
            dependents[p].append(i)
    return dependents


def strongly_connected(
    nodes: Sequence[int], dependents: Sequence[Sequence[int]], member: set[int]
) -> list[list[int]]:
    """Tarjan's algorithm, iteratively, over the subgraph ``member``.

    Components come out in topological order of the condensation: a
    component comes before every component that depends on it.
    """
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, pos = work[-1]
            succ = dependents[v]
            advanced = False
            while pos < len(succ):
                w = succ[pos]
                pos += 1
                if w not in member:
                    continue
                if w not in index:
                    work[-1] = (v, pos)
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, 0))
                    advanced = True
                    break
                if w in on_stack and index[w] < low[v]:
                    low[v] = index[w]
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                comp: list[int] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    out.reverse()
    return out


def evaluation_plan(
    precedents: Sequence[Sequence[int]],
    dependents: Sequence[Sequence[int]],
    tick: Tick = _nothing,
) -> tuple[list[int], list[list[int]]]:
    """An order to compute nodes in, and the cycles.

    Returns ``(plan, cycles)``: ``plan`` lists node numbers in dependency
    order, with ``-(g + 1)`` standing for cycle ``g`` (a strongly connected
    group computed as a unit, or a node that reads itself).
    """
    n = len(precedents)
    indegree = [len(p) for p in precedents]
    plan = [i for i in range(n) if indegree[i] == 0]
    for position, i in enumerate(plan):  # the list grows while we walk it
        if not position & 4095:
            tick(position)
        for d in dependents[i]:
            indegree[d] -= 1
            if indegree[d] == 0:
                plan.append(d)
    cycles: list[list[int]] = []
    if len(plan) == n:
        return plan, cycles
    done = set(plan)
    rest = [i for i in range(n) if i not in done]
    member = set(rest)
    for comp in strongly_connected(rest, dependents, member):
        if len(comp) == 1 and comp[0] not in precedents[comp[0]]:
            plan.append(comp[0])
        else:
            cycles.append(sorted(comp))
            plan.append(-len(cycles))
    return plan, cycles
