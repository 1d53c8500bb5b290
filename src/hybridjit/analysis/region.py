"""What a parallel region needs from its surroundings, and whether a device
can run it.

Contract: :func:`region_interface` lists, for an outermost parallel
:class:`For`, the scalar values it reads from outside (loop bounds included),
the arrays it touches and which of them it writes; those become the device
kernel's parameters and the arguments of the host's dispatch hook.
:func:`offload_blockers` returns the reasons (human text) a device cannot run
the region; empty means it can.  Both are pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..codegen.prelude import DEVICE_COMPLEX_FUNCTIONS
from ..ir.nodes import (
    Alloc,
    Assign,
    BinOp,
    BoundCheck,
    Call,
    Cast,
    For,
    Function,
    Intrinsic,
    Let,
    Load,
    Return,
    Shape,
    Store,
    Var,
    binop_may_raise,
)
from ..ir.visit import walk
from ..types import Array, Scalar, Tuple


@dataclass(frozen=True)
class RegionInterface:
    scalars: tuple[tuple[str, Scalar], ...]  # read-only scalars from outside
    arrays: tuple[tuple[str, Array], ...]  # every array the region touches
    written: frozenset[str]  # arrays it stores to
    assigned: frozenset[str]  # variables it assigns (private or reductions)


def region_interface(loop: For, fn: Function) -> RegionInterface:
    types = fn.local_types()
    assigned = {loop.var}
    arrays: dict[str, Array] = {}
    written: set[str] = set()
    reads: list[str] = []
    for n in walk(loop):
        if isinstance(n, Assign):
            assigned.add(n.target)
        elif isinstance(n, For):
            assigned.add(n.var)
        elif isinstance(n, (Load, Store, Shape)):
            t = n.array.type
            assert isinstance(t, Array)
            arrays[n.array.name] = t
            if isinstance(n, Store):
                written.add(n.array.name)
        elif isinstance(n, Let):
            assigned.add(n.name)
        elif isinstance(n, Var):
            if isinstance(n.type, Array):
                arrays[n.name] = n.type
            else:
                reads.append(n.name)
    scalars = []
    for name in sorted(set(reads) - assigned):
        t = types[name]
        if isinstance(t, Scalar):
            scalars.append((name, t))
    return RegionInterface(tuple(scalars), tuple(sorted(arrays.items())),
                           frozenset(written), frozenset(assigned))


def offload_blockers(loop: For, fn: Function, iface: RegionInterface) -> list[str]:
    """Why a device cannot run this region (empty list: it can)."""
    reasons: list[str] = []
    types = fn.local_types()
    for n in walk(loop):
        if isinstance(n, Call):
            reasons.append(f"calls the helper function {n.func.split('_', 2)[-1]}()")
        elif isinstance(n, Alloc):
            reasons.append("allocates an array")
        elif isinstance(n, Return):
            reasons.append("returns from inside the loop")
        elif isinstance(n, BinOp) and binop_may_raise(n):
            reasons.append(binop_may_raise(n))  # type: ignore[arg-type]
        elif isinstance(n, Intrinsic) and n.name.startswith("host."):
            reasons.append(f"calls {_host_function(n.name)}, which runs on the host")
        elif isinstance(n, BoundCheck):
            reasons.append(f"reads '{n.name}', which may be unassigned there")
        elif isinstance(n, Cast) and n.check:
            reasons.append("converts a number that may not fit its NumPy type (an "
                           "OverflowError or ValueError in Python)")
        elif isinstance(n, For) and n is not loop and not _const_step(n):
            reasons.append("has an inner loop whose step is only known at run time")
    for n in walk(loop):
        if isinstance(n, Intrinsic) and n.name.startswith("complex.") \
                and n.name[len("complex."):] not in DEVICE_COMPLEX_FUNCTIONS:
            reasons.append(f"computes the complex function {n.name[len('complex.'):]}, "
                           "which devices do not have here")
    if not _const_step(loop):
        reasons.append("its step is only known at run time")
    for name in iface.assigned:
        t = types.get(name)
        if isinstance(t, (Array, Tuple)):
            reasons.append(f"assigns the {'array' if isinstance(t, Array) else 'tuple'} "
                           f"variable {name}")
    if fn.symbol != "hj_entry":
        reasons.append("is inside a helper function")
    return sorted(set(reasons))


def _const_step(loop: For) -> bool:
    from ..ir.nodes import Const

    return isinstance(loop.step, Const) and int(loop.step.value) != 0


#: what a host-only intrinsic is, in words
_HOST_WORDS = {
    "empty_reduction": "the check for a reduction of an empty array",
    "broadcast": "the broadcasting check", "broadcast_into": "the broadcasting check",
    "slice_step": "the slice-step check", "concat_check": "the concatenation check",
    "arange_length": "np.arange's length", "unbound": "the unbound-variable check",
    "core_match": "the matrix product's shape check",
    "mask_match": "the boolean mask's shape check",
    "fancy_index": "the index array's bounds check (NumPy's IndexError)",
    "out_match": "the out= shape check",
}


def _host_function(name: str) -> str:
    full = name[len("host."):]
    if full in _HOST_WORDS:
        return _HOST_WORDS[full]
    fn = full.split("_")[0]
    return "round()" if fn == "round" else f"math.{fn}()"
