"""Array-valued IR: views, array stores, reductions, new arrays.

Contract: the frontend types NumPy-style code with these nodes and with the
ordinary expression nodes (``BinOp``, ``UnaryOp``, ``Compare``, ``Cast``,
``Intrinsic``, ``IfExp``) carrying an :class:`~hybridjit.types.Array` type,
which then means "element-wise" (operands broadcast as NumPy broadcasts; a
scalar operand is the same for every element).  The pass
:mod:`hybridjit.transform.arrays` lowers every array operation to the
structured loop IR before parallelisation; only views (pointer, shape and
strides of an existing array: :class:`ArrayView`, :class:`TransposeView`,
:class:`BroadcastView`) survive to code generation, and only as the value of
an ``Assign`` to an array variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UNKNOWN_LOC, SourceLoc
from ..types import Array, Type
from .nodes import Expr, Node, Stmt

# ------------------------------------------------------------------- views


@dataclass(frozen=True, slots=True)
class SliceDim(Node):
    """``start:stop:step`` of one dimension; None where omitted.  Python's
    rules: negative values count from the end, out-of-range ones clip."""

    start: Expr | None
    stop: Expr | None
    step: Expr | None
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)

    @property
    def is_full(self) -> bool:
        return self.start is None and self.stop is None and self.step is None


@dataclass(frozen=True, slots=True)
class IndexDim(Node):
    """An integer index: the dimension goes (``A[i, :]`` is a row)."""

    index: Expr
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class NewAxisDim(Node):
    """``None``/``np.newaxis``: a new dimension of extent 1."""

    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


ViewDim = SliceDim | IndexDim | NewAxisDim


@dataclass(frozen=True, slots=True)
class ArrayView(Expr):
    """``base[dims]``: a view sharing ``base``'s memory.  ``dims`` has one
    entry per dimension of ``base`` (slices, indices) plus the new axes, in
    order; the frontend fills omitted trailing dimensions and ``...``."""

    base: Expr
    dims: tuple[ViewDim, ...]
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class TransposeView(Expr):
    """``base.transpose(perm)``: dimension ``k`` of the view is dimension
    ``perm[k]`` of ``base``."""

    base: Expr
    perm: tuple[int, ...]
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class ReshapeView(Expr):
    """``base.reshape(shape)`` of a C-contiguous ``base`` (a view; the
    frontend copies other layouts first, as NumPy does).  ``shape`` has no
    ``-1`` left and its product is checked against ``base``'s size."""

    base: Expr
    shape: tuple[Expr, ...]
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class BroadcastView(Expr):
    """``base`` seen with ``shape`` (NumPy's broadcast_to): leading new
    dimensions and dimensions of extent 1 get stride 0.  Made by the
    lowering pass, which checks the shapes are compatible first."""

    base: Expr
    shape: tuple[Expr, ...]
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


VIEWS = (ArrayView, TransposeView, ReshapeView, BroadcastView)

# -------------------------------------------------------- operations


@dataclass(frozen=True, slots=True)
class Map(Expr):
    """An element-wise operation: ``template`` is a scalar expression in
    which ``Var(element_name(k))`` stands for an element of ``args[k]``
    (an array, broadcast with the others as NumPy broadcasts) or for
    ``args[k]`` itself (a scalar, evaluated once before any element).
    Every scalar operation lifts this way with its own semantics (NEP 50
    types, checked conversions, comparisons by value); nested maps fuse."""

    template: Expr
    args: tuple[Expr, ...]
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


def element_name(k: int) -> str:
    """The placeholder of a :class:`Map`'s ``k``-th argument."""
    return f".e{k}"



@dataclass(frozen=True, slots=True)
class ArrayReduce(Expr):
    """A reduction of ``value``: ``kind`` one of sum, prod, min, max, mean,
    var, std, argmin, argmax, any, all, pysum, pymin, pymax; over ``axes`` (None: all of them,
    giving a scalar), keeping reduced dimensions as extent 1 when
    ``keepdims``; ``ddof`` for var/std."""

    kind: str
    value: Expr
    axes: tuple[int, ...] | None
    keepdims: bool
    type: Type
    ddof: int = 0
    #: the start of Python's sum() (kinds pysum, pymin, pymax are Python's
    #: builtins over a 1-D array: in order, with Python's comparisons)
    start: Expr | None = None
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class MatMul(Expr):
    """``a @ b`` of two 2-D arrays of one float dtype.  ``nest`` is the same
    product as element-wise products and a reduction (frontend/linalg.py),
    which is how it runs wherever the lowering does not call NumPy's own
    matrix product (its BLAS) instead: inside loops, on devices, for small
    operands."""

    a: Expr
    b: Expr
    nest: Expr
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Compress(Expr):
    """``value[mask]`` (NumPy's boolean indexing read): the elements of
    ``value`` where ``mask`` holds, in C order, as a new 1-D array.  Both
    have the same shape (the frontend checks it)."""

    value: Expr
    mask: Expr
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Gather(Expr):
    """``value[index]`` with an integer array ``index`` (NumPy's integer
    array indexing along the first axis): a new array of shape
    ``index.shape + value.shape[1:]`` whose element ``(i..., j...)`` is
    ``value[index[i...], j...]``.  A negative index counts from the end; one
    out of range is NumPy's IndexError, whatever ``boundscheck`` says."""

    value: Expr
    index: Expr
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Cumulative(Expr):
    """``np.cumsum``/``np.cumprod`` (``kind`` sum/prod) along ``axis`` (None:
    of the flattened array)."""

    kind: str
    value: Expr
    axis: int | None
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Fresh(Expr):
    """A new C-contiguous array holding ``value`` (``np.copy``,
    ``a.astype``, ``a.flatten()``): never a view of its operands."""

    value: Expr
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Sequence(Expr):
    """A new 1-D (``eye``: 2-D) array whose elements follow a formula:
    ``kind`` arange (args start, step, length), linspace (start, stop,
    num, endpoint as 0/1) or eye (rows, cols, k)."""

    kind: str
    args: tuple[Expr, ...]
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Concat(Expr):
    """``np.concatenate(parts, axis)`` (``stack``: each part first gets a
    new axis at ``axis``)."""

    parts: tuple[Expr, ...]
    axis: int
    stack: bool
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class ArrayStore(Stmt):
    """``target[...] = value``: ``target`` is an array variable or a view of
    one; ``value`` an array (broadcast to the target's shape) or a scalar.
    NumPy semantics: ``value`` is computed entirely before any element is
    stored (the lowering keeps a temporary where they may overlap)."""

    target: Expr
    value: Expr
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class LibraryCall(Stmt):
    """``targets = function(*args, **options)``: a NumPy function (``np.sort``,
    ``np.linalg.solve`` ...) called by the entry's host code, for work with
    no good loop form.  It needs the interpreter: never inside a parallel
    loop or on a device.  ``function`` is the dotted name
    ("numpy.linalg.solve"); ``args`` and ``option_values`` (keyword
    arguments named by ``option_names``) are arrays, scalars, tuples of
    scalars or :class:`Static` constants.
    Each target is a new C-contiguous array variable receiving one item of
    the result (the result itself when there is one target), which NumPy
    gives in the target's dtype and rank (the frontend asked NumPy which);
    a scalar item arrives as a 1-element 1-D array (``scalar_items``), so
    every target is an array variable owned by this call."""

    targets: tuple[str, ...]
    function: str
    args: tuple[Expr, ...]
    option_names: tuple[str, ...]
    option_values: tuple[Expr, ...]
    scalar_items: tuple[bool, ...]
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)

    @property
    def shown_name(self) -> str:
        """The function as the user wrote it: np.linalg.solve."""
        return "np." + self.function.removeprefix("numpy.")


@dataclass(frozen=True, slots=True)
class Scatter(Stmt):
    """``target[index] = value`` with an integer array ``index``: ``value``
    (a scalar, or an array broadcast to ``index.shape + target.shape[1:]``)
    is computed entirely first, every index is checked (NumPy's IndexError
    before anything is stored), then the rows ``target[index[i...]]`` are
    stored in C order of ``index``, so where an index repeats the last
    store wins, as in NumPy.  Not proven parallel: indices may repeat."""

    target: Expr
    index: Expr
    value: Expr
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


def is_array_expr(e: Expr) -> bool:
    return isinstance(e.type, Array)
