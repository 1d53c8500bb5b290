"""Readable text of IR, for dumps and debugging.

Contract: :func:`format_program` returns deterministic Python-like text of a
program with types, loop ids and parallel annotations.
"""

from __future__ import annotations

from .arrays import LibraryCall
from .nodes import (
    Assign,
    BinOp,
    BoolOp,
    BoundCheck,
    Break,
    Call,
    Cast,
    Compare,
    Const,
    Continue,
    Expr,
    ExprStmt,
    For,
    Function,
    If,
    IfExp,
    Intrinsic,
    Let,
    Load,
    MakeTuple,
    Program,
    Return,
    Shape,
    Static,
    Stmt,
    Store,
    TupleItem,
    UnaryOp,
    Var,
    While,
)


def format_program(p: Program) -> str:
    return "\n\n".join(format_function(f) for f in p.functions()) + "\n"


def format_function(f: Function) -> str:
    params = ", ".join(f"{p.name}: {p.type}" for p in f.params)
    lines = [f"def {f.symbol}({params}) -> {f.return_type}:  # {f.name}"]
    for name, t in f.locals:
        lines.append(f"    # local {name}: {t}")
    lines += _body(f.body, "    ")
    return "\n".join(lines)


def _body(stmts: tuple[Stmt, ...], ind: str) -> list[str]:
    out: list[str] = []
    for s in stmts:
        out += _stmt(s, ind)
    return out or [ind + "pass"]


def _stmt(s: Stmt, ind: str) -> list[str]:
    if isinstance(s, Assign):
        return [f"{ind}{s.target} = {fmt(s.value)}"]
    if isinstance(s, Store):
        return [f"{ind}{fmt(s.array)}[{', '.join(fmt(i) for i in s.indices)}] = {fmt(s.value)}"]
    if isinstance(s, ExprStmt):
        return [ind + fmt(s.value)]
    if isinstance(s, LibraryCall):
        args = [fmt(a) for a in s.args]
        args += [f"{n}={fmt(v)}" for n, v in zip(s.option_names, s.option_values)]
        return [f"{ind}{', '.join(s.targets)} = {s.shown_name}({', '.join(args)})"]
    if hasattr(s, "target") and hasattr(s, "value") and isinstance(s.target, Expr):
        return [f"{ind}{fmt(s.target)}[...] = {fmt(s.value)}"]  # ArrayStore
    if isinstance(s, If):
        out = [f"{ind}if {fmt(s.test)}:", *_body(s.body, ind + "    ")]
        if s.orelse:
            out += [f"{ind}else:", *_body(s.orelse, ind + "    ")]
        return out
    if isinstance(s, For):
        kind = "prange" if s.is_prange else "range"
        par = ""
        if s.parallel is not None:
            p = s.parallel
            par = f"  # parallel[{p.source}] private={list(p.private)} " \
                  f"reductions={[(r.var, r.op) for r in p.reductions]}"
        head = f"{ind}for {s.var} in {kind}({fmt(s.start)}, {fmt(s.stop)}, {fmt(s.step)}):"
        return [f"{head}  # loop {s.loop_id}{par}", *_body(s.body, ind + "    ")]
    if isinstance(s, While):
        return [f"{ind}while {fmt(s.test)}:", *_body(s.body, ind + "    ")]
    if isinstance(s, Break):
        return [ind + "break"]
    if isinstance(s, Continue):
        return [ind + "continue"]
    if isinstance(s, Return):
        return [ind + "return" + (" " + fmt(s.value) if s.value is not None else "")]
    return [f"{ind}<{type(s).__name__}>"]


def fmt(e: Expr) -> str:
    if isinstance(e, Const):
        return repr(e.value)
    if isinstance(e, Var):
        return e.name
    if isinstance(e, BinOp):
        return f"({fmt(e.left)} {e.op} {fmt(e.right)})"
    if isinstance(e, UnaryOp):
        return f"({e.op} {fmt(e.operand)})"
    if isinstance(e, Compare):
        return f"({fmt(e.left)} {e.op} {fmt(e.right)})"
    if isinstance(e, BoolOp):
        return "(" + f" {e.op} ".join(fmt(v) for v in e.values) + ")"
    if isinstance(e, IfExp):
        return f"({fmt(e.body)} if {fmt(e.test)} else {fmt(e.orelse)})"
    if isinstance(e, Cast):
        check = f" checked:{e.check}" if e.check else ""
        return f"{e.type}({fmt(e.value)}{check})"
    if isinstance(e, Let):
        return f"(let {e.name} = {fmt(e.value)} in {fmt(e.body)})"
    if isinstance(e, BoundCheck):
        return f"bound[{e.flag.name}]({fmt(e.value)})"
    if isinstance(e, Load):
        return f"{fmt(e.array)}[{', '.join(fmt(i) for i in e.indices)}]"
    if isinstance(e, Shape):
        return f"{fmt(e.array)}.shape[{e.dim}]"
    if isinstance(e, (Intrinsic, Call)):
        name = e.name if isinstance(e, Intrinsic) else e.func
        return f"{name}({', '.join(fmt(a) for a in e.args)})"
    if isinstance(e, MakeTuple):
        return "(" + ", ".join(fmt(i) for i in e.items) + ",)"
    if isinstance(e, TupleItem):
        return f"{fmt(e.value)}[{e.index}]"
    if isinstance(e, Static):
        return repr(e.value)
    return _array_fmt(e)


def _array_fmt(e: Expr) -> str:
    """The array nodes (ir/arrays.py), as NumPy-like text."""
    from .arrays import ArrayView, IndexDim, Map, NewAxisDim, SliceDim

    if isinstance(e, ArrayView):
        parts = []
        for d in e.dims:
            if isinstance(d, IndexDim):
                parts.append(fmt(d.index))
            elif isinstance(d, NewAxisDim):
                parts.append("None")
            elif isinstance(d, SliceDim):
                parts.append(":".join("" if x is None else fmt(x)
                                      for x in (d.start, d.stop, d.step)))
        return f"{fmt(e.base)}[{', '.join(parts)}]"
    if isinstance(e, Map):
        return f"map({fmt(e.template)}; {', '.join(fmt(a) for a in e.args)})"
    fields = [fmt(v) for v in vars_of(e) if isinstance(v, Expr)]
    return f"{type(e).__name__}({', '.join(fields)}: {e.type})"


def vars_of(e: Expr) -> list[object]:
    import dataclasses

    return [getattr(e, f.name) for f in dataclasses.fields(e)]  # type: ignore[arg-type]
