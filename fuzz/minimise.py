"""Greedy test-case reduction of a failing program.

Contract: :class:`Minimiser` takes a failing program (module source and
argument specs), the configuration it fails under and an ``evaluate``
callback (source, specs -> job result, see :mod:`fuzz.worker`); it applies
one small change at a time and keeps it when the program still fails *the
same way* (:func:`failure_key`: same category, same kind of mismatch, same
exception types / refusal message), until no change helps or the budget
(attempts, seconds) is spent.  Changes, in order: delete a helper or a
statement; replace a compound statement by its body (a loop by its body
with the loop variable set to its start); ``prange`` -> ``range``; replace
an expression by one of its operands or by 1; shrink constants; simplify
arguments (views to C order, narrow value ranges, simpler scalar values);
drop unused parameters.  Each change is checked by running the program, so
the result is always a real failing program.

A caveat for parallel-only failures: a reduction may in principle turn a
race-free ``prange`` loop into a racy one that the compiler cannot see;
check minimised ``prange`` repros by eye.
"""

from __future__ import annotations

import ast
import copy
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from .compare import PASSING, normalise

Evaluate = Callable[[str, list[dict[str, Any]]], dict[str, Any]]
Mutation = Callable[[], bool]

PREFERRED = ("serial", "prange", "auto", "opencl")


def primary_config(result: dict[str, Any]) -> str | None:
    """The configuration to minimise against: the simplest one that fails."""
    bad = [c for c, v in result.get("configs", {}).items()
           if v["category"] not in PASSING]
    for c in PREFERRED:
        if c in bad:
            return c
    return bad[0] if bad else None


def _types_in(text: str) -> tuple[str, ...]:
    return tuple(m.group(0) for m in re.finditer(r"np\.[a-z_]+\d*|\((?:int|float|bool)\)", text))


def failure_key(result: dict[str, Any], config: str) -> tuple[str, ...] | None:
    """What "failing the same way" means (None: not failing)."""
    if result.get("category") in (*PASSING, "invalid", None):
        return None
    c = result.get("configs", {}).get(config)
    if c is None:
        return None
    cat, kind, detail = c["category"], c["kind"], c.get("detail", "")
    if cat in PASSING:
        return None
    oracle = result.get("oracle", "")
    exc = oracle.split(": ")[1] if result.get("oracle_status") == "raise" \
        and ": " in oracle else ""
    return (result.get("oracle_status", ""), exc, *_key(cat, kind, detail))


def _key(cat: str, kind: str, detail: str) -> tuple[str, ...]:
    if cat in ("refused", "internal"):
        return (cat, kind, normalise(detail))
    if cat == "mismatch":
        if kind in ("raises/returns", "returns/raises", "exception type"):
            return (cat, kind, *re.findall(r"raises (\w+)", detail))
        if kind.endswith("type"):
            return (cat, kind, *_types_in(detail))
        return (cat, kind.replace("ulp", "value"), re.sub(r"#\d+", "#N", detail.split(":")[0]))
    return (cat, kind)


# ------------------------------------------------------------- AST access


def _stmt_lists(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    for node in ast.walk(tree):
        for name in ("body", "orelse"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value


def _exprs(tree: ast.AST) -> Iterator[tuple[ast.AST, str, int | None, ast.expr]]:
    """(parent, field, index, child) for every replaceable expression."""
    for node in ast.walk(tree):
        for name, value in ast.iter_fields(node):
            if name in ("func", "ctx", "target", "targets", "keywords"):
                continue
            if isinstance(node, ast.Subscript) and name == "value":
                continue
            if isinstance(node, ast.Attribute):
                continue
            if isinstance(value, ast.expr) and not isinstance(value, ast.Name):
                yield node, name, None, value
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if isinstance(item, ast.expr) and not isinstance(item, ast.Name):
                        yield node, name, k, item


def _children(e: ast.expr) -> list[ast.expr]:
    if isinstance(e, ast.BinOp):
        return [e.left, e.right]
    if isinstance(e, ast.UnaryOp):
        return [e.operand]
    if isinstance(e, ast.BoolOp):
        return list(e.values)
    if isinstance(e, ast.Compare):
        return [e.left, *e.comparators]
    if isinstance(e, ast.IfExp):
        return [e.body, e.orelse, e.test]
    if isinstance(e, ast.Call):
        return list(e.args)
    if isinstance(e, ast.Tuple):
        return list(e.elts)
    return []


def _set(parent: ast.AST, name: str, index: int | None, new: ast.expr) -> None:
    if index is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[index] = new


def _range_start(it: ast.expr) -> ast.expr:
    if isinstance(it, ast.Call) and it.args and len(it.args) >= 2:
        return copy.deepcopy(it.args[0])
    if isinstance(it, ast.Call) and len(it.args) == 1:
        return ast.Constant(0)
    return ast.Constant(0)


# -------------------------------------------------------------- mutations


def deletions(tree: ast.Module) -> list[Mutation]:
    muts: list[Mutation] = []
    for k in range(len(tree.body) - 1, -1, -1):
        node = tree.body[k]
        if isinstance(node, (ast.FunctionDef, ast.Assign)) and \
                not (isinstance(node, ast.FunctionDef) and k == len(tree.body) - 1):
            muts.append(lambda k=k: bool(tree.body.pop(k)) or True)
    lists = list(_stmt_lists(tree))
    for body in lists:
        if body is tree.body:
            continue
        for k in range(len(body) - 1, -1, -1):
            def delete(body: list[ast.stmt] = body, k: int = k) -> bool:
                if isinstance(body[k], ast.Pass) and len(body) == 1:
                    return False
                del body[k]
                if not body:
                    body.append(ast.Pass())
                return True
            muts.append(delete)
    return muts


def unwraps(tree: ast.Module) -> list[Mutation]:
    muts: list[Mutation] = []
    for body in list(_stmt_lists(tree)):
        for k, s in enumerate(body):
            if isinstance(s, ast.If):
                for part in ("body", "orelse"):
                    def inline(body: list[ast.stmt] = body, k: int = k, part: str = part) -> bool:
                        new = getattr(body[k], part)
                        if not new:
                            return False
                        body[k:k + 1] = new
                        return True
                    muts.append(inline)
            elif isinstance(s, (ast.For, ast.While)):
                def unloop(body: list[ast.stmt] = body, k: int = k) -> bool:
                    loop = body[k]
                    pre: list[ast.stmt] = []
                    if isinstance(loop, ast.For):
                        pre = [ast.Assign([copy.deepcopy(loop.target)], _range_start(loop.iter))]
                    body[k:k + 1] = pre + loop.body
                    return True
                muts.append(unloop)
                if isinstance(s, ast.For) and isinstance(s.iter, ast.Call) and \
                        isinstance(s.iter.func, ast.Name) and s.iter.func.id == "prange":
                    def serial(s: ast.For = s) -> bool:
                        s.iter.func = ast.Name("range", ast.Load())  # type: ignore[attr-defined]
                        return True
                    muts.append(serial)
    return muts


def expr_reductions(tree: ast.Module) -> list[Mutation]:
    muts: list[Mutation] = []
    for parent, name, index, e in list(_exprs(tree)):
        for child in _children(e):
            muts.append(lambda p=parent, n=name, i=index, c=child:
                        _set(p, n, i, copy.deepcopy(c)) or True)
        if not isinstance(e, ast.Constant):
            muts.append(lambda p=parent, n=name, i=index: _set(p, n, i, ast.Constant(1)) or True)
    return muts


def constant_shrinks(tree: ast.Module) -> list[Mutation]:
    muts: list[Mutation] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            v = node.value
            opts: list[Any] = [0, 1, v // 2] if type(v) is int else [0.0, 1.0, float(int(v))
                                                                    if abs(v) < 1e15 else 0.0]
            for o in opts:
                if o != v and (type(v) is not int or abs(o) < abs(v)):
                    muts.append(lambda node=node, o=o: setattr(node, "value", o) or True)
    return muts


# -------------------------------------------------------------- minimiser


class Minimiser:
    def __init__(self, evaluate: Evaluate, source: str, specs: list[dict[str, Any]],
                 config: str, key: tuple[str, ...], max_attempts: int = 400,
                 max_seconds: float = 300.0, log: Callable[[str], None] | None = None):
        self.evaluate = evaluate
        self.source = source
        self.specs = specs
        self.config = config
        self.key = key
        self.attempts = 0
        self.max_attempts = max_attempts
        self.deadline = time.monotonic() + max_seconds
        self.log = log or (lambda s: None)

    def budget(self) -> bool:
        return self.attempts < self.max_attempts and time.monotonic() < self.deadline

    def check(self, source: str, specs: list[dict[str, Any]]) -> bool:
        self.attempts += 1
        try:
            ast.parse(source)
        except SyntaxError:
            return False
        result = self.evaluate(source, specs)
        return failure_key(result, self.config) == self.key

    def ast_pass(self, make: Callable[[ast.Module], list[Mutation]]) -> bool:
        changed = False
        k = 0
        while self.budget():
            tree = ast.parse(self.source)
            muts = make(tree)
            if k >= len(muts):
                break
            try:
                applied = muts[k]()
            except Exception:
                applied = False
            if not applied:
                k += 1
                continue
            ast.fix_missing_locations(tree)
            cand = ast.unparse(tree) + "\n"
            if cand != self.source and self.check(cand, self.specs):
                self.source = cand
                changed = True
            else:
                k += 1
        return changed

    def spec_pass(self) -> bool:
        changed = False
        for k in range(len(self.specs)):
            for cand in self._spec_options(self.specs[k]):
                if not self.budget():
                    return changed
                specs = [dict(s) for s in self.specs]
                specs[k] = cand
                if specs != self.specs and self.check(self.source, specs):
                    self.specs = specs
                    changed = True
                    break
        return changed

    def _spec_options(self, s: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        if s["kind"] == "array":
            if s["view"] not in ("C", "head"):
                out.append({**s, "view": "C"})
            if s.get("range") == "wide":
                out.append({**s, "range": "small"})
        elif s["kind"] == "scalar":
            for v in ("0", "1", "True" if s["type"].endswith("bool") else "2"):
                if v != s["value"]:
                    out.append({**s, "value": v})
        return out

    def drop_params(self) -> bool:
        tree = ast.parse(self.source)
        fn = [n for n in tree.body if isinstance(n, ast.FunctionDef)][-1]
        used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
        refs = {s["of"] for s in self.specs if "of" in s}
        changed = False
        for k in range(len(fn.args.args) - 1, -1, -1):
            if not self.budget():
                break
            if fn.args.args[k].arg in used or k in refs:
                continue
            if any("of" in s and s["of"] > k for s in self.specs):
                continue
            t2 = copy.deepcopy(tree)
            f2 = [n for n in t2.body if isinstance(n, ast.FunctionDef)][-1]
            del f2.args.args[k]
            specs = self.specs[:k] + self.specs[k + 1:]
            cand = ast.unparse(t2) + "\n"
            if self.check(cand, specs):
                self.source, self.specs, tree = cand, specs, t2
                changed = True
        return changed

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        passes: list[Callable[[], bool]] = [
            lambda: self.ast_pass(deletions),
            lambda: self.ast_pass(unwraps),
            lambda: self.ast_pass(expr_reductions),
            lambda: self.ast_pass(constant_shrinks),
            self.spec_pass,
            self.drop_params,
        ]
        progress = True
        while progress and self.budget():
            progress = False
            for p in passes:
                if not self.budget():
                    break
                if p():
                    progress = True
            self.log(f"minimiser: {len(self.source.splitlines())} lines after "
                     f"{self.attempts} attempts")
        return self.source, self.specs
