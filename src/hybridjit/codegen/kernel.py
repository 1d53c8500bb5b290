"""Device kernels for parallel regions: the part shared by OpenCL C and CUDA C.

Contract: :class:`KernelRenderer` prints one region (an outermost parallel
``For`` with its :class:`RegionInterface`) as a self-contained kernel source:
type definitions, the C prelude, and one kernel whose parameters are, in
order: for each array its base buffer, element offset, extents and element
strides; each read-only outside scalar; ``hj_lo, hj_step, hj_trip,
hj_nthreads``; and one partial-results buffer per reduction.  Work-item ``g``
runs iterations ``g, g + nthreads, ...`` (a grid-stride loop), so any launch
size is correct; reductions leave one partial per work-item, combined by the
host in work-item order.  Dialects override the spellings only.
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis.region import RegionInterface
from ..ir.nodes import Const, For, Function, Reduction
from ..types import Scalar
from .cfamily import CFamilyRenderer, array_part, scalar_name
from .prelude import prelude

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
    global_id = "get_global_id(0)"
    header = ""
    typedef_names = _TYPEDEFS
    #: devices do not report math domain errors: they give nan/inf (documented)
    checked_math = False

    def __init__(self, fn: Function, loop: For, iface: RegionInterface, name: str,
                 fastmath: bool = False):
        super().__init__(fn, boundscheck=False, fastmath=fastmath)
        self.loop = loop
        self.iface = iface
        self.name = name

    def uses_float64(self) -> bool:
        types = self.fn.local_types()
        names = set(self.iface.assigned) | {n for n, _ in self.iface.scalars}
        scal = [types[n] for n in names if isinstance(types.get(n), Scalar)]
        arrs = [t.dtype for _, t in self.iface.arrays]
        return any(isinstance(t, Scalar) and t.name == "float64" for t in scal + arrs)

    def params(self) -> list[str]:
        out = []
        for name, at in self.iface.arrays:
            out.append(f"{self.global_ptr} {at.dtype.c_name} *{array_part(name, 'base')}")
            out.append(f"int64_t {array_part(name, 'off')}")
            out += [f"int64_t {array_part(name, f'n{d}')}" for d in range(at.ndim)]
            out += [f"int64_t {array_part(name, f's{d}')}" for d in range(at.ndim)]
        for name, st in self.iface.scalars:
            out.append(f"{st.c_name} {scalar_name(name)}")
        out += ["int64_t hj_lo", "int64_t hj_step", "int64_t hj_trip", "int64_t hj_nthreads"]
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
        for name in sorted(self.iface.assigned):
            vt = self.types[name]
            assert isinstance(vt, Scalar)
            lines.append(f"{ind}{vt.c_name} {scalar_name(name)} = 0;")
        for r in info.reductions:
            rt = self.types[r.var]
            assert isinstance(rt, Scalar)
            ident = self.expr(Const(reduction_identity(r, rt), rt))
            lines.append(f"{ind}{scalar_name(r.var)} = {ident};")
        lines.append(f"{ind}const int64_t hj_g = (int64_t){self.global_id};")
        lines.append(f"{ind}for (int64_t hj_k = hj_g; hj_k < hj_trip; hj_k += hj_nthreads) {{")
        lines.append(f"{ind}    {scalar_name(self.loop.var)} = hj_lo + hj_k * hj_step;")
        self.parallel_depth = 1
        lines += self.body(self.loop.body, ind + "    ")
        lines.append(f"{ind}}}")
        for k, r in enumerate(info.reductions):
            lines.append(f"{ind}if (hj_g < hj_nthreads) hj_part{k}[hj_g] = {scalar_name(r.var)};")
        lines.append(f"{ind}(void)hj_st;")
        lines.append("}")
        head = [self.header]
        head += [f"typedef {v} {k};" for k, v in self.typedef_names.items()]
        head.append(self.fn_defines())
        head.append(prelude(float64=self.uses_float64()))
        return "\n".join(head + lines) + "\n"

    def fn_defines(self) -> str:
        return "#define HJ_FN static inline\n#define INT64_MIN (-9223372036854775807L - 1)"


class OpenCLKernelRenderer(KernelRenderer):
    """OpenCL C: overloaded math functions, no ``f`` suffixes."""

    def fn_defines(self) -> str:
        # The prelude spells float32 math with C99 suffixes; OpenCL overloads.
        names = ("fmod", "copysign", "floor", "pow")
        return super().fn_defines() + "\n" + "\n".join(f"#define {n}f {n}" for n in names)

    def render(self) -> str:
        if self.uses_float64():
            self.header = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable"
        return super().render()

    def math_call(self, name: str, t: Scalar, args: list[str]) -> str:
        cast = [f"({t.c_name})({a})" for a in args]
        return f"{name}({', '.join(cast)})"


class CUDAKernelRenderer(KernelRenderer):
    """CUDA C for NVRTC: ``extern "C" __global__``, C math names."""

    kernel_prefix = 'extern "C" __global__ void'
    global_ptr = ""
    global_id = "(blockIdx.x * (int64_t)blockDim.x + threadIdx.x)"
    typedef_names = {
        "int64_t": "long long", "uint64_t": "unsigned long long", "int32_t": "int",
        "uint32_t": "unsigned int", "int16_t": "short", "uint16_t": "unsigned short",
        "int8_t": "signed char", "uint8_t": "unsigned char", "npy_bool": "unsigned char",
    }

    def fn_defines(self) -> str:
        return ("#define HJ_FN static __device__ __forceinline__\n"
                "#define INT64_MIN (-9223372036854775807LL - 1)\n"
                "#define NAN __int_as_float(0x7fffffff)\n"
                "#define INFINITY __int_as_float(0x7f800000)")
