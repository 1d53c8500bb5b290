"""Device kernels for parallel regions: the part shared by OpenCL C and CUDA C.

Contract: :class:`KernelRenderer` prints one region (an outermost parallel
``For`` with its :class:`RegionInterface`) as a self-contained kernel source:
type definitions, the C prelude, and one kernel whose parameters are, in
order: for each array its base buffer, element offset, extents and element
strides; each read-only outside scalar; ``hj_lo, hj_step, hj_trip,
hj_nthreads`` for the region's loop and the same with suffixes ``2`` and
``3`` for the nested loops of a 2-D/3-D grid (ignored where the grid has
fewer dimensions); and one partial-results buffer per reduction.

Index space (see :mod:`hybridjit.transform.grid`): each loop of the grid
runs on the launch dimension ``KernelGrid.dim_of`` gives it.  Work-item
``g`` runs iterations ``g, g + nthreads, ...`` of its loop (a grid-stride
loop), so any launch of at least ``nthreads`` (by ``nthreads2`` by
``nthreads3``) work-items is correct: the ones beyond do nothing, as CUDA
rounds its grid up to whole blocks.

Reductions: kernels of regions with reductions are launched in work-groups
of exactly :data:`REDUCTION_GROUP` work-items (shaped per number of
dimensions by :data:`REDUCTION_LOCAL`).  Each work-item accumulates its own
partial from the identity; the group then combines its partials in local
memory (a tree, halving the active work-items each step) and work-item 0
writes one partial per group to ``hj_part[group]`` (groups numbered
x-fastest), which the host combines.
Tiles: a 2-D kernel with a :class:`TilePlan` (transform/tiling.py) is
printed by :func:`codegen.tiled.tiled_loops` instead of grid-stride loops
and launched in work-groups of :data:`TILED_LOCAL`.
Dialects override the spellings only.
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis.region import RegionInterface
from ..ir.nodes import Const, Expr, For, Function, Intrinsic, Let, Load, Reduction
from ..ir.visit import walk
from ..transform.grid import KernelGrid
from ..transform.tiling import TILE, TilePlan
from ..types import Scalar, Type
from .cfamily import CFamilyRenderer, array_part, combine_partials, scalar_name
from .prelude import device_complex, prelude
from .tiled import tiled_loops

#: work-items per work-group of a kernel with reductions (a power of two)
REDUCTION_GROUP = 256
#: its shape for 2-D and 3-D kernels, dimension 0 first
REDUCTION_LOCAL = {1: (REDUCTION_GROUP,), 2: (32, 8), 3: (32, 4, 2)}
#: the work-group shape of kernels with tiles (transform/tiling.py); a group
#: of it combines reductions as a REDUCTION_GROUP does
TILED_LOCAL = (TILE, TILE)
assert TILE * TILE == REDUCTION_GROUP
#: name suffixes of the per-level kernel parameters and variables (hj_lo, hj_lo2, hj_lo3)
LEVEL_SUFFIXES = ("", "2", "3")

_TYPEDEFS = {
    "int64_t": "long", "uint64_t": "ulong", "int32_t": "int", "uint32_t": "uint",
    "int16_t": "short", "uint16_t": "ushort", "int8_t": "char", "uint8_t": "uchar",
    "npy_bool": "uchar",
}


def reduction_identity(r: Reduction, t: Scalar) -> float | int:
    """The neutral start value of each work-item's partial result."""
    if r.op in ("+", "-"):
        return 0
    if r.op == "*":
        return 1
    smallest = r.op == "min"
    if t.is_float:
        return math.inf if smallest else -math.inf
    if t.is_bool:
        return int(smallest)
    info = np.iinfo(t.dtype)
    return int(info.max) if smallest else int(info.min)


class KernelRenderer(CFamilyRenderer):
    """Prints a region as a device kernel; subclasses set the dialect."""

    kernel_prefix = "__kernel void"
    global_ptr = "__global"
    header = ""
    typedef_names = _TYPEDEFS
    #: devices do not report math domain errors: they give nan/inf (documented)
    checked_math = False

    def __init__(self, fn: Function, loop: For, iface: RegionInterface, name: str,
                 fastmath: bool = False, grid: KernelGrid | None = None,
                 tiles: TilePlan | None = None):
        super().__init__(fn, boundscheck=False, fastmath=fastmath)
        self.loop = loop
        self.iface = iface
        self.name = name
        self.grid = grid or KernelGrid()
        self.tiles = tiles
        #: loads read from a tile while a contraction's body is printed
        self.staged: dict[object, str] = {}

    def global_id(self, dim: int) -> str:
        return f"get_global_id({dim})"

    #: a work-item's place in its group and the group's in the launch, per
    #: launch dimension (``{d}``: 0, 1, 2; ``{a}``: x, y, z)
    position = {"local": "get_local_id({d})", "group": "get_group_id({d})",
                "groups": "get_num_groups({d})"}

    def place(self, what: str, dim: int) -> str:
        """``position[what]`` for launch dimension ``dim``."""
        return self.position[what].format(d=dim, a="xyz"[dim])

    def e_Load(self, e: Load) -> str:
        return self.staged.get(e) or super().e_Load(e)

    def types_used(self) -> set[str]:
        """The scalar types of every value in the kernel: arrays, scalars,
        and every intermediate (``int / int``, ``math.*`` results)."""
        types = self.fn.local_types()
        names = set(self.iface.assigned) | {n for n, _ in self.iface.scalars}
        found: list[Type] = [types[n] for n in names if n in types]
        found += [t.dtype for _, t in self.iface.arrays]
        found += [n.type for n in walk(self.loop) if isinstance(n, Expr)]
        return {t.name for t in found if isinstance(t, Scalar)}

    def uses_float64(self) -> bool:
        """Whether any value in the kernel is a double (a complex128's parts)."""
        return bool(self.types_used() & {"float64", "complex128"})

    # ---- complex numbers: float2/double2 and the arithmetic spelled out

    complex_vector_make = "({vector})"

    def complex_types(self) -> str:
        used = self.types_used()
        out = []
        for name, r, vector in (("complex64", "float", "float2"),
                                ("complex128", "double", "double2")):
            if name in used:
                out.append(device_complex(name, r, vector,
                                          self.complex_vector_make.format(vector=vector)))
        return "\n".join(out)

    def complex_make(self, re: str, im: str, t: Scalar) -> str:
        return f"hj_cmk_{t.name}({re}, {im})"

    def complex_cast(self, inner: str, src: Scalar, dst: Scalar) -> str:
        if dst.is_bool:
            return f"(({inner}).x != 0 || ({inner}).y != 0)"
        if not dst.is_complex:
            return f"(({dst.c_name})(({inner}).x))"
        r = dst.real_type.c_name
        if src.is_complex:
            return f"hj_cmk_{dst.name}(({r})(({inner}).x), ({r})(({inner}).y))"
        return f"hj_cmk_{dst.name}(({r})({inner}), ({r})0)"

    def complex_neg(self, inner: str, t: Scalar) -> str:
        return f"hj_cneg_{t.name}({inner})"

    def complex_compare(self, op: str, a: str, b: str, t: Scalar) -> str:
        return f"({'!' if op == '!=' else ''}hj_ceq_{t.name}({a}, {b}))"

    def complex_binop(self, op: str, a: str, b: str, t: Scalar, python: bool) -> str:
        fn = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}[op]
        return f"hj_c{fn}_{t.name}({a}, {b})"

    def complex_intrinsic(self, fn: str, e: Intrinsic, args: list[str]) -> str:
        if fn == "make":
            return super().complex_intrinsic(fn, e, args)
        t = e.args[0].type
        assert isinstance(t, Scalar)
        z = f"({args[0]})"
        if fn in ("real", "imag"):
            return f"{z}.{'x' if fn == 'real' else 'y'}"
        if fn == "abs":
            return f"hypot({z}.x, {z}.y)"
        if fn == "angle":
            return f"atan2({z}.y, {z}.x)"
        if fn in ("isnan", "isinf"):
            return f"({fn}({z}.x) || {fn}({z}.y))"
        if fn == "isfinite":
            return f"(isfinite({z}.x) && isfinite({z}.y))"
        return f"hj_c{fn}_{t.name}({z})"

    def params(self) -> list[str]:
        out = []
        for name, at in self.iface.arrays:
            out.append(f"{self.global_ptr} {at.dtype.c_name} *{array_part(name, 'base')}")
            out.append(f"int64_t {array_part(name, 'off')}")
            out += [f"int64_t {array_part(name, f'n{d}')}" for d in range(at.ndim)]
            out += [f"int64_t {array_part(name, f's{d}')}" for d in range(at.ndim)]
        for name, st in self.iface.scalars:
            out.append(f"{st.c_name} {scalar_name(name)}")
        out += [f"int64_t hj_{p}{k}" for k in LEVEL_SUFFIXES
                for p in ("lo", "step", "trip", "nthreads")]
        for k, r in enumerate(self.loop.parallel.reductions if self.loop.parallel else ()):
            t = self.types[r.var]
            assert isinstance(t, Scalar)
            out.append(f"{self.global_ptr} {t.c_name} *hj_part{k}")
        return out

    def render(self) -> str:
        info = self.loop.parallel
        assert info is not None
        ind = "    "
        lines = [f"{self.kernel_prefix} {self.name}({', '.join(self.params())}) {{"]
        for name, at in self.iface.arrays:
            lines.append(f"{ind}{self.global_ptr} {at.dtype.c_name} *{array_part(name, 'd')} = "
                         f"{array_part(name, 'base')} + {array_part(name, 'off')};")
        lines.append(f"{ind}int hj_st = 0;")
        lets = {n.name for n in walk(self.loop) if isinstance(n, Let)}
        for name in sorted(self.iface.assigned - lets):  # (a Let declares its own)
            vt = self.types[name]
            assert isinstance(vt, Scalar)
            zero = self.expr(Const(0, vt))
            lines.append(f"{ind}{vt.c_name} {scalar_name(name)} = {zero};")
        for r in info.reductions:
            rt = self.types[r.var]
            assert isinstance(rt, Scalar)
            ident = self.expr(Const(reduction_identity(r, rt), rt))
            lines.append(f"{ind}{scalar_name(r.var)} = {ident};")
        lines += tiled_loops(self, self.tiles, ind) if self.tiles else self.loops(ind)
        lines += self.group_reduce(info.reductions, ind)
        lines.append(f"{ind}(void)hj_st;")
        lines.append("}")
        head = [self.header]
        head += [f"typedef {v} {k};" for k, v in self.typedef_names.items()]
        head.append(self.fn_defines())
        head.append(prelude(float64=self.uses_float64()))
        head.append(self.complex_types())
        return "\n".join(head + lines) + "\n"

    def loops(self, ind: str) -> list[str]:
        """The grid-stride loop(s) around the region's body, one per dimension."""
        grid = self.grid
        levels = (self.loop, *grid.nest)
        lines = []
        for level, suffix in enumerate(LEVEL_SUFFIXES):
            gid = f"(int64_t){self.global_id(grid.dim_of(level))}" if level < grid.dims else "0"
            lines.append(f"{ind}const int64_t hj_g{suffix} = {gid};")
        live = " && ".join(f"hj_g{s} < hj_nthreads{s}" for s in LEVEL_SUFFIXES)
        lines.append(f"{ind}const int hj_live = {live};")
        self.parallel_depth = 1
        inner = ind
        for level, loop in enumerate(levels):
            suffix = LEVEL_SUFFIXES[level]
            k = f"hj_k{suffix}"
            # idle work-items (beyond the counts in any dimension) skip everything
            start = "hj_live ? hj_g : hj_trip" if level == 0 else f"hj_g{suffix}"
            lines.append(f"{inner}for (int64_t {k} = {start}; {k} < hj_trip{suffix}; "
                         f"{k} += hj_nthreads{suffix}) {{")
            inner += "    "
            lines.append(f"{inner}{scalar_name(loop.var)} = hj_lo{suffix} + {k} * hj_step{suffix};")
            if level < len(grid.nest):
                lines += self.body(grid.prefixes[level], inner)
        lines += self.body(levels[-1].body, inner)
        while inner != ind:
            inner = inner[:-4]
            lines.append(f"{inner}}}")
        return lines

    # ------------------------------------------------------- reductions

    local_decl = "__local"
    barrier = "barrier(CLK_LOCAL_MEM_FENCE);"
    local_linear_id = ("(int)(get_local_id(0) + get_local_size(0) * (get_local_id(1) "
                       "+ get_local_size(1) * get_local_id(2)))")
    group_linear_id = ("(int64_t)(get_group_id(0) + get_num_groups(0) * (get_group_id(1) "
                       "+ get_num_groups(1) * (int64_t)get_group_id(2)))")

    def group_reduce(self, reductions: tuple[Reduction, ...], ind: str) -> list[str]:
        """Combine the work-group's partials; work-item 0 stores the result."""
        if not reductions:
            return []
        i2, i3 = ind + "    ", ind + "        "
        lines = [f"{ind}const int hj_lid = {self.local_linear_id};"]
        for k, r in enumerate(reductions):
            t = self.types[r.var]
            assert isinstance(t, Scalar)
            lines += [f"{ind}{self.local_decl} {t.c_name} hj_red{k}[{REDUCTION_GROUP}];",
                      f"{ind}hj_red{k}[hj_lid] = {scalar_name(r.var)};"]
        lines += [f"{ind}{self.barrier}",
                  f"{ind}for (int hj_w = {REDUCTION_GROUP // 2}; hj_w > 0; hj_w >>= 1) {{",
                  f"{i2}if (hj_lid < hj_w) {{"]
        for k, r in enumerate(reductions):
            t = self.types[r.var]
            assert isinstance(t, Scalar)
            a, b = f"hj_red{k}[hj_lid]", f"hj_red{k}[hj_lid + hj_w]"
            lines.append(f"{i3}{a} = ({t.c_name})({combine_partials(r.op, t, a, b)});")
        lines += [f"{i2}}}", f"{i2}{self.barrier}", f"{ind}}}",
                  f"{ind}if (hj_lid == 0) {{"]
        lines += [f"{i2}hj_part{k}[{self.group_linear_id}] = hj_red{k}[0];"
                  for k in range(len(reductions))]
        lines.append(f"{ind}}}")
        return lines

    def fn_defines(self) -> str:
        return "#define HJ_FN static inline\n#define INT64_MIN (-9223372036854775807L - 1)"


class OpenCLKernelRenderer(KernelRenderer):
    """OpenCL C: overloaded math functions, no ``f`` suffixes."""

    def fn_defines(self) -> str:
        # The prelude spells float32 math with C99 suffixes; OpenCL overloads.
        names = ("fmod", "copysign", "floor", "pow")
        return super().fn_defines() + "\n" + "\n".join(f"#define {n}f {n}" for n in names)

    def render(self) -> str:
        # no fused multiply-adds, as on the host and with NVRTC's --fmad=false
        # (OpenCL C lets a compiler contract by default)
        self.header = "#pragma OPENCL FP_CONTRACT OFF"
        if self.uses_float64():
            self.header += "\n#pragma OPENCL EXTENSION cl_khr_fp64 : enable"
        return super().render()

    def math_call(self, name: str, t: Scalar, args: list[str]) -> str:
        cast = [f"({t.c_name})({a})" for a in args]
        return f"{name}({', '.join(cast)})"


class CUDAKernelRenderer(KernelRenderer):
    """CUDA C for NVRTC: ``extern "C" __global__``, C math names."""

    kernel_prefix = 'extern "C" __global__ void'
    global_ptr = ""
    typedef_names = {
        "int64_t": "long long", "uint64_t": "unsigned long long", "int32_t": "int",
        "uint32_t": "unsigned int", "int16_t": "short", "uint16_t": "unsigned short",
        "int8_t": "signed char", "uint8_t": "unsigned char", "npy_bool": "unsigned char",
    }

    complex_vector_make = "make_{vector}"
    local_decl = "__shared__"
    barrier = "__syncthreads();"
    local_linear_id = "(int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z))"
    group_linear_id = ("(int64_t)(blockIdx.x + (int64_t)gridDim.x * (blockIdx.y "
                       "+ (int64_t)gridDim.y * blockIdx.z))")

    def e_Let(self, e: Let) -> str:
        # NVRTC compiles C++ without GNU statement expressions: a lambda
        # called at once binds the value the same way
        name = scalar_name(e.name)
        return (f"([&]() {{ {self.c_type(e.value.type)} {name} = {self.expr(e.value)}; "
                f"return {self.expr(e.body)}; }})()")

    def global_id(self, dim: int) -> str:
        axis = "xyz"[dim]
        return f"(blockIdx.{axis} * (int64_t)blockDim.{axis} + threadIdx.{axis})"

    position = {"local": "threadIdx.{a}", "group": "blockIdx.{a}", "groups": "gridDim.{a}"}

    def fn_defines(self) -> str:
        return ("#define HJ_FN static __device__ __forceinline__\n"
                "#define INT64_MIN (-9223372036854775807LL - 1)\n"
                "#define NAN __int_as_float(0x7fffffff)\n"
                "#define INFINITY __int_as_float(0x7f800000)")
