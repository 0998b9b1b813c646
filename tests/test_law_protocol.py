"""The law-check plug-in interface is explicit: every kind exported, its order an Order, its flags declared."""

from __future__ import annotations

import dataclasses

import sympy as sp

import systems.laws as laws
from systems.laws.base import LAW_KINDS, Law, Order


def test_every_law_kind_is_exported_and_declares_when_it_is_checked():
    for kind, cls in LAW_KINDS.items():
        assert cls.__name__ in laws.__all__, kind
        assert isinstance(cls.order, Order), kind
        fields = {f.name for f in dataclasses.fields(cls)}
        if cls.assigns:  # the quantity it assigns a neuron to is its expression
            assert "expression" in fields and cls.order is Order.ASSIGNS, kind


def test_only_a_law_that_is_one_expression_gives_a_true_expression():
    t = sp.Symbol("t", real=True)
    motion = laws.AnswerLaw(name="m", description="d", expression=sp.Symbol("a") * t, constants={sp.Symbol("a"): 2.0})
    assert motion.true_expression() == 2 * t
    held = laws.LatentIsQuantity(name="q", description="d", expression=t)
    assert held.true_expression() is None and held.assigns
    assert Law.true_expression(held) is None
