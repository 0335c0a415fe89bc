"""Dependency graph algorithms."""

from __future__ import annotations

from eval_svc.engine.graph import dependents_of, evaluation_plan, strongly_connected


class TestEvaluationPlan:
    def test_precedents_come_first(self) -> None:
        precedents = [(1,), (2,), ()]
        plan, cycles = evaluation_plan(precedents, dependents_of(precedents))
        assert plan == [2, 1, 0]
        assert cycles == []

    def test_cycles_become_groups_after_their_inputs(self) -> None:
        # 0 <- 1 <- 2 <- 1 (1 and 2 form a cycle), 3 reads 0
        precedents = [(1,), (2, 4), (1,), (0,), ()]
        plan, cycles = evaluation_plan(precedents, dependents_of(precedents))
        assert cycles == [[1, 2]]
        assert plan.index(4) < plan.index(-1) < plan.index(0) < plan.index(3)

    def test_self_reference_is_a_cycle(self) -> None:
        precedents = [(0,), ()]
        _, cycles = evaluation_plan(precedents, dependents_of(precedents))
        assert cycles == [[0]]

    def test_long_chains_need_no_recursion(self) -> None:
        n = 200_000
        precedents = [(i - 1,) if i else () for i in range(n)]
        plan, _ = evaluation_plan(precedents, dependents_of(precedents))
        assert plan == list(range(n))
        ring = [((i - 1) % n,) for i in range(n)]
        comps = strongly_connected(list(range(n)), dependents_of(ring), set(range(n)))
        assert len(comps) == 1 and len(comps[0]) == n
