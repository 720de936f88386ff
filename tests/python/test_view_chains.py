"""fold-views on chains of reshapes and permutes with a symbolic dim: random chains (the symbol
merged with static dims, static dims split and merged, unit dims) built into engines give the same
elements as numpy at several symbol values. The static chains are tested in C++
(tests/unit/passes/fold_views_test.cc); these need symbolic shapes at run time."""

import random

import numpy as np

import kiln


def dims_text(groups):
    """A dim per group of factors: the product of the static ones, times s if s is among them."""
    out = []
    for g in groups:
        n = 1
        for f in g:
            n *= f if f != "s" else 1
        out.append(("s" if n == 1 else f"{n}*s") if "s" in g else str(n))
    return "[" + ", ".join(out) + "]"


def dims_value(groups, s):
    return [int(np.prod([s if f == "s" else f for f in g])) for g in groups]


def random_groups(factors, rng):
    """Consecutive factors grouped into dims at random cuts, with unit dims between some."""
    groups, cur = [], []
    for f in factors:
        cur.append(f)
        if rng.random() < 0.5:
            groups.append(cur)
            cur = []
            if rng.random() < 0.15:
                groups.append([])
    if cur:
        groups.append(cur)
    return groups or [[]]


def test_random_symbolic_chains_keep_their_elements():
    rng = random.Random(7)
    folded = 0
    for trial in range(60):
        factors = ["s"] + [rng.choice([2, 3]) for _ in range(rng.randint(2, 4))]
        rng.shuffle(factors)
        groups = []  # the input has s as a dim of its own: that is how the engine reads its value
        for g in random_groups(factors, rng):
            if "s" in g:
                i = g.index("s")
                groups += [part for part in (g[:i], ["s"], g[i + 1:]) if part]
            else:
                groups.append(g)
        lines = ["graph @chain {", "  symbol s in [1, 4] opt 2",
                 f"  input %x : f32{dims_text(groups)}"]
        ops, v = [], "%x"
        for k in range(rng.randint(2, 5)):
            if rng.random() < 0.5 and len(groups) > 1:
                perm = list(range(len(groups)))
                rng.shuffle(perm)
                groups = [groups[p] for p in perm]
                lines.append(f"  %v{k} = permute({v}) {{perm={perm}}}")
                ops.append(("permute", perm))
            else:
                flat = [f for g in groups for f in g]
                groups = random_groups(flat, rng)
                lines.append(f"  %v{k} = reshape({v}) {{shape={dims_text(groups)}}}")
                ops.append(("reshape", groups))
            v = f"%v{k}"
        lines += [f"  %y = neg({v})", "  return %y", "}"]
        text = "\n".join(lines)
        engine = kiln.Engine(kiln.build_engine(text))
        before = kiln.format_ir(text, ["canonicalize"]).count("permute(")
        after = kiln.format_ir(text, ["canonicalize", "fold-views", "canonicalize", "dce"])
        folded += after.count("permute(") < before
        assert after.count("permute(") <= before, (text, after)
        for s in (1, 2, 3):
            x = np.random.default_rng(trial).standard_normal(
                dims_value(_source_groups(text), s)).astype(np.float32)
            want = x
            for op, arg in ops:
                want = want.transpose(arg) if op == "permute" else want.reshape(
                    dims_value(arg, s))
            (got,) = engine(x)
            assert np.array_equal(got, -want), text
    assert folded > 10  # the chains exercise the folding


def _source_groups(text):
    """The input's dims as groups of factors, read back from the graph text."""
    shape = text.split("input %x : f32[")[1].split("]")[0]
    groups = []
    for d in shape.split(", "):
        if d == "s":
            groups.append(["s"])
        elif d.endswith("*s"):
            groups.append([int(d[:-2]), "s"])
        else:
            groups.append([int(d)] if d != "1" else [])
    return groups
