"""The law-check plug-in interface is explicit: every kind exported, its order an Order, its flags declared."""

from __future__ import annotations

import dataclasses

import sympy as sp

import systems.laws as laws
from systems.laws.base import Law, Order, law_kinds


def test_every_law_kind_is_exported_and_declares_when_it_is_checked():
    kinds = law_kinds()
    assert len(kinds) >= 12
    for kind, cls in kinds.items():
        assert getattr(laws, cls.__name__) is cls, kind  # reachable from the package, a new module's kind too
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


def test_the_law_package_imports_a_kind_only_when_it_is_used():
    import subprocess
    import sys

    code = (
        "import sys, systems.laws.verdict, systems.laws as laws; "
        "assert 'sympy' not in sys.modules, 'verdict alone'; "
        "laws.LatentAffine; assert 'systems.laws.latent_affine' in sys.modules; "
        "assert 'systems.laws.answer_law' not in sys.modules; "
        "laws.load_kinds(); assert 'systems.laws.answer_law' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
