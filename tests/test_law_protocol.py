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
        if cls.__name__ in laws._HOMES:  # a built-in kind's home is the module that defines it
            assert cls.__module__ == f"systems.laws.{laws._HOMES[cls.__name__]}", kind
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
        "assert laws.answer_law.__name__ == 'systems.laws.answer_law'; "
        "assert 'systems.laws.unused_latents' not in sys.modules; "
        "assert len(laws.LAW_KINDS) >= 12 and 'systems.laws.unused_latents' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
