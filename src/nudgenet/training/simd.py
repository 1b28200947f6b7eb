"""SIMD building blocks of the compiled kernels: Numba extensions that emit LLVM IR directly.

Numba compiles loops through LLVM, which vectorises only innermost loops, keeps nothing but
scalars in registers across an outer loop, and calls the C library for each ``math.exp``.
:mod:`nudgenet.training.kernels` needs more than that in two places, written here as
``@overload`` and ``@intrinsic`` extensions:

* ``_exp_nonpositive``: e^x as plain arithmetic (a polynomial, and 2^m written into the
  exponent bits with ``_float_from_bits``), so that a loop of sigmoids or softmaxes becomes
  vector instructions; ``math.exp`` would be one library call per number;
* whole SIMD registers as values (``_Vector``, LLVM's ``<lanes x float>``) and the few
  operations the first layer's register tiles need: ``_lanes``, ``_load``, ``_store``,
  ``_splat``, ``_fma``, ``_sum_lanes`` and ``_prefetch``. A tile (a block of ∂C/∂W¹ summed
  over a whole chunk without leaving the registers) cannot be written as plain loops; with
  these the kernels write it out, and leave every other loop for LLVM to vectorise;
* ``_select`` (lane by lane, one vector or another) and ``_flush_subnormals`` /
  ``_restore_subnormals`` (the x86 control register's flush-to-zero mode) for the lanes
  engine (:mod:`~nudgenet.training.lane_kernels`);
* views that cost no call into Numba's runtime: ``_grid`` and ``_flat`` (a vector seen as
  a matrix and back, as ``reshape`` would, which calls a C function every time) and
  ``_unowned`` (an array whose views skip NRT's atomic reference counts).

This is the layer of how to make LLVM emit particular instructions, kept apart from the
kernels' layer of what an SGD step computes. The vectors are as wide as the widest SIMD
registers of the CPU Numba compiles for (``VECTOR_BYTES``, fixed at import). Everything here
runs only compiled into the kernels; from Python, ``_exp_nonpositive`` is ``math.exp``.

Numba's on-disk cache of the kernels is checked against the contents of ``kernels.py`` only,
not of this module: after editing it, delete the cached kernels (``kernels.*.nbi`` and
``kernels.*.nbc``, in ``training/__pycache__`` or under ``$NUMBA_CACHE_DIR``), or the
kernels will go on running the code compiled from the old version.
"""

from __future__ import annotations

import math
import platform

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.core.codegen import get_host_cpu_features
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic, models, overload, register_model
from numba.np.arrayobj import populate_array

# ------------------------------------------------------------------------------- scalars


@intrinsic
def _float_from_bits(typingctx, bits):  # pragma: no cover - compiled
    """The float whose bit pattern is ``bits`` (int32 → float32, int64 → float64)."""
    if bits == types.int32:
        result, llvm_type = types.float32, ir.FloatType()
    elif bits == types.int64:
        result, llvm_type = types.float64, ir.DoubleType()
    else:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_type)

    return result(bits), codegen


def _exp_nonpositive(x):
    """e^x for x ≤ 0 in x's precision (0 below the smallest normal number); compiled only."""
    return math.exp(x)


@overload(_exp_nonpositive)
def _exp_nonpositive_compiled(x):  # pragma: no cover - compiled
    """e^x = 2^m · e^r with m = round(x / ln 2) and |r| ≤ ln(2)/2: a polynomial for e^r and
    2^m written straight into the exponent bits, all plain arithmetic, so that a loop of
    them becomes vector instructions (math.exp would be one library call per number).
    Accurate to about an ulp; the sigmoid and softmax only ever need x ≤ 0."""
    if x == types.float32:
        f, i = np.float32, np.int32
        ln2_hi, ln2_lo, bias, shift = 0.693359375, -2.12194440e-4, 127, 23
        coefficients = [1.0 / math.factorial(k) for k in range(8)]  # error < 2e-9 for |r| < 0.35
    elif x == types.float64:
        f, i = np.float64, np.int64
        ln2_hi, ln2_lo, bias, shift = (
            6.93147180369123816490e-01,
            1.90821492927058770002e-10,
            1023,
            52,
        )
        coefficients = [1.0 / math.factorial(k) for k in range(14)]  # error < 5e-18
    else:
        return None
    floor = f(math.log(np.finfo(f).tiny))
    log2e, half, zero = f(1.0 / math.log(2.0)), f(0.5), f(0.0)
    hi, lo, bias_, shift_ = f(ln2_hi), f(ln2_lo), i(bias), i(shift)
    c = tuple(f(value) for value in coefficients)
    degree = len(c) - 1

    def implementation(x):
        if x < floor:
            return zero
        m = math.floor(x * log2e + half)
        r = (x - m * hi) - m * lo
        p = c[degree]
        for k in range(degree - 1, -1, -1):
            p = p * r + c[k]
        return p * _float_from_bits(i((i(m) + bias_) << shift_))  # 2^m

    return implementation


# ------------------------------------------------------------------------------- vectors


X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


def _cpu_features() -> list[str]:
    """The features Numba's code generator uses (NUMBA_CPU_FEATURES, else the host's)."""
    features = config.CPU_FEATURES
    if features is None:
        features = get_host_cpu_features()
    return features.split(",")


def _vector_bytes() -> int:
    """Bytes in a SIMD register of the CPU Numba compiles for: 64 (AVX-512), 32 (AVX), or 16.

    Wider vectors than the CPU has would still be correct, but LLVM would split each into
    several registers and the tiles would no longer fit.
    """
    features = _cpu_features()
    if "+avx512f" in features:
        return 64
    if "+avx" in features:
        return 32
    return 16


def _vector_registers() -> int:
    """How many SIMD registers a register tile may fill: 32 with AVX-512 (and on 64-bit
    ARM), 16 with AVX or SSE. The kernels size their tiles by it: a tile of more
    accumulators than there are registers spills them to the stack on every step of its
    loop (on AVX2, the 20 accumulators of a 4 × 5 tile took about 70 moves to and from the
    stack per 40 multiply-adds)."""
    return 32 if "+avx512f" in _cpu_features() or not X86 else 16


VECTOR_BYTES = _vector_bytes()
VECTOR_REGISTERS = _vector_registers()


class _Vector(types.Type):
    """A SIMD register of floats, LLVM's <lanes x float>: a value, kept in a register."""

    def __init__(self, dtype: types.Float) -> None:
        self.dtype = dtype
        self.lanes = VECTOR_BYTES * 8 // dtype.bitwidth
        super().__init__(name=f"vector({dtype} x {self.lanes})")


@register_model(_Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):  # pragma: no cover - compiled
        element = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))


def _is_matrix(A) -> bool:
    """Whether a Numba type is a C-contiguous 2-D float array."""
    return (
        isinstance(A, types.Array)
        and A.ndim == 2
        and A.layout == "C"
        and isinstance(A.dtype, types.Float)
    )


def _address(context, builder, matrix_type, A, i, k):  # pragma: no cover - compiled
    """The address of A[i, k] (no bounds check)."""
    array = context.make_array(matrix_type)(context, builder, A)
    return cgutils.get_item_pointer(context, builder, matrix_type, array, [i, k])


def _vector_intrinsic(name, vector):  # pragma: no cover - compiled
    """LLVM's intrinsic ``llvm.<name>`` for this vector type, e.g. llvm.fma.v16f32."""
    bits = 32 if isinstance(vector.element, ir.FloatType) else 64
    return f"llvm.{name}.v{vector.count}f{bits}"


# The vector operations take a matrix and the row and column where the vector starts (rather
# than a row view, which would cost reference counting in every tile).


@intrinsic
def _lanes(typingctx, A):  # pragma: no cover - compiled
    """How many numbers of A's dtype one vector holds (a compile-time constant)."""
    if not _is_matrix(A):
        return None
    lanes = _Vector(A.dtype).lanes

    def codegen(context, builder, signature, args):
        return ir.Constant(ir.IntType(64), lanes)

    return types.intp(A), codegen


@intrinsic
def _load(typingctx, A, i, k):  # pragma: no cover - compiled
    """A[i, k : k + lanes] as a vector; the caller keeps k + lanes ≤ A.shape[1]."""
    if not _is_matrix(A):
        return None
    vector = _Vector(A.dtype)

    def codegen(context, builder, signature, args):
        address = _address(context, builder, signature.args[0], *args)
        pointer = builder.bitcast(address, context.get_value_type(vector).as_pointer())
        return builder.load(pointer, align=A.dtype.bitwidth // 8)

    return vector(A, i, k), codegen


@intrinsic
def _store(typingctx, A, i, k, v):  # pragma: no cover - compiled
    """A[i, k : k + lanes] = v; the caller keeps k + lanes ≤ A.shape[1]."""
    if not (_is_matrix(A) and v == _Vector(A.dtype)):
        return None

    def codegen(context, builder, signature, args):
        address = _address(context, builder, signature.args[0], *args[:3])
        pointer = builder.bitcast(address, args[3].type.as_pointer())
        builder.store(args[3], pointer, align=A.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return types.none(A, i, k, v), codegen


@intrinsic
def _splat(typingctx, x):  # pragma: no cover - compiled
    """A vector with x in every lane."""
    if not isinstance(x, types.Float):
        return None
    vector = _Vector(x)

    def codegen(context, builder, signature, args):
        llvm_type = context.get_value_type(vector)
        one = builder.insert_element(
            ir.Constant(llvm_type, ir.Undefined), args[0], ir.Constant(ir.IntType(32), 0)
        )
        lanes = ir.Constant(ir.VectorType(ir.IntType(32), vector.lanes), [0] * vector.lanes)
        return builder.shuffle_vector(one, ir.Constant(llvm_type, ir.Undefined), lanes)

    return vector(x), codegen


@intrinsic
def _fma(typingctx, a, b, c):  # pragma: no cover - compiled
    """a · b + c lane by lane, rounded once (a fused multiply-add)."""
    if not (isinstance(c, _Vector) and a == c and b == c):
        return None

    def codegen(context, builder, signature, args):
        llvm_type = args[2].type
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(llvm_type, [llvm_type] * 3),
            _vector_intrinsic("fma", llvm_type),
        )
        return builder.call(function, list(args))

    return c(a, b, c), codegen


@intrinsic
def _select(typingctx, mask, a, b):  # pragma: no cover - compiled
    """Lane by lane, a where mask > 0, else b (NaN and inf in b's lanes stay out of a's)."""
    if not (isinstance(mask, _Vector) and mask == a and a == b):
        return None

    def codegen(context, builder, signature, args):
        zero = ir.Constant(args[0].type, None)
        return builder.select(builder.fcmp_ordered(">", args[0], zero), args[1], args[2])

    return a(mask, a, b), codegen


# MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6): results and inputs below
# the smallest normal number count as 0, instead of each costing a slow microcode assist.
_FTZ_DAZ = 0x8040


def _mxcsr(builder, value=None):  # pragma: no cover - compiled
    """Read the x86 control register (value None), or write ``value`` into it."""
    i32 = ir.IntType(32)
    slot = builder.alloca(i32)
    pointer = builder.bitcast(slot, ir.IntType(8).as_pointer())
    name = "llvm.x86.sse.stmxcsr" if value is None else "llvm.x86.sse.ldmxcsr"
    function = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [pointer.type]), name
    )
    if value is not None:
        builder.store(value, slot)
    builder.call(function, [pointer])
    return builder.load(slot)


@intrinsic
def _flush_subnormals(typingctx):  # pragma: no cover - compiled
    """Turn on flush-to-zero for this thread; returns the mode to restore (0 off x86)."""

    def codegen(context, builder, signature, args):
        if not X86:
            return ir.Constant(ir.IntType(32), 0)
        before = _mxcsr(builder)
        _mxcsr(builder, builder.or_(before, ir.Constant(ir.IntType(32), _FTZ_DAZ)))
        return before

    return types.int32(), codegen


@intrinsic
def _restore_subnormals(typingctx, before):  # pragma: no cover - compiled
    """Put back the mode :func:`_flush_subnormals` returned."""
    if before != types.int32:
        return None

    def codegen(context, builder, signature, args):
        if X86:
            _mxcsr(builder, args[0])
        return context.get_dummy_value()

    return types.none(before), codegen


@intrinsic
def _sum_lanes(typingctx, v):  # pragma: no cover - compiled
    """The sum of v's lanes, added in whatever order is quickest."""
    if not isinstance(v, _Vector):
        return None

    def codegen(context, builder, signature, args):
        llvm_type = args[0].type
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(llvm_type.element, [llvm_type.element, llvm_type]),
            _vector_intrinsic("vector.reduce.fadd", llvm_type),
        )
        start = ir.Constant(llvm_type.element, 0.0)
        return builder.call(function, [start, args[0]], fastmath=("reassoc",))

    return v.dtype(v), codegen


@intrinsic
def _prefetch(typingctx, A, i, k):  # pragma: no cover - compiled
    """Ask the caches to fetch the line holding A[i, k] (a hint: no fault, no effect on values)."""
    if not _is_matrix(A):
        return None

    def codegen(context, builder, signature, args):
        address = _address(context, builder, signature.args[0], *args)
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [address.type, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        # read, locality 2 (keep in L2 and beyond), data cache
        flags = [ir.Constant(i32, value) for value in (0, 2, 1)]
        builder.call(function, [address, *flags])
        return context.get_dummy_value()

    return types.none(A, i, k), codegen


# ----------------------------------------------------------------------------------- views
# Numba's reshape calls into its C runtime (about 24 ns a call, measured): a batch-10 step
# of the seed network made about thirty of them. These views are a few instructions, and
# share the array's reference count (or its lack of one: ``_unowned``).


@intrinsic
def _grid(typingctx, v, rows, cols):  # pragma: no cover - compiled
    """v[: rows · cols] seen as a C-contiguous (rows, cols) matrix, v a C-contiguous 1-D
    array; no check (the caller keeps rows, cols ≥ 0 and rows · cols ≤ len(v))."""
    if not (isinstance(v, types.Array) and v.ndim == 1 and v.layout == "C"):
        return None
    if not (isinstance(rows, types.Integer) and isinstance(cols, types.Integer)):
        return None
    matrix = v.copy(ndim=2, layout="C")

    def codegen(context, builder, signature, args):
        flat = context.make_array(signature.args[0])(context, builder, args[0])
        shape = [context.cast(builder, args[q], signature.args[q], types.intp) for q in (1, 2)]
        out = context.make_array(signature.return_type)(context, builder)
        itemsize = flat.itemsize
        populate_array(out, data=flat.data, shape=shape,
                       strides=[builder.mul(shape[1], itemsize), itemsize], itemsize=itemsize,
                       meminfo=flat.meminfo, parent=flat.parent)  # fmt: skip
        return impl_ret_borrowed(context, builder, signature.return_type, out._getvalue())

    return matrix(v, rows, cols), codegen


@intrinsic
def _flat(typingctx, A):  # pragma: no cover - compiled
    """A C-contiguous 2-D array seen as one row of all its numbers (its reshape to 1-D)."""
    if not (isinstance(A, types.Array) and A.ndim == 2 and A.layout == "C"):
        return None
    row = A.copy(ndim=1, layout="C")

    def codegen(context, builder, signature, args):
        matrix = context.make_array(signature.args[0])(context, builder, args[0])
        rows, cols = cgutils.unpack_tuple(builder, matrix.shape, 2)
        out = context.make_array(signature.return_type)(context, builder)
        populate_array(out, data=matrix.data, shape=[builder.mul(rows, cols)],
                       strides=[matrix.itemsize], itemsize=matrix.itemsize,
                       meminfo=matrix.meminfo, parent=matrix.parent)  # fmt: skip
        return impl_ret_borrowed(context, builder, signature.return_type, out._getvalue())

    return row(A), codegen


@intrinsic
def _unowned(typingctx, a):  # pragma: no cover - compiled
    """The array ``a`` with no reference count: every view taken of it then skips NRT's
    atomic increments and decrements. Only for an entry point's arguments, which the
    calling Python code holds alive for the whole call, and only where no view of them is
    returned to Python."""
    if not isinstance(a, types.Array):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        out = context.make_array(signature.return_type)(context, builder)
        populate_array(out, data=array.data,
                       shape=cgutils.unpack_tuple(builder, array.shape),
                       strides=cgutils.unpack_tuple(builder, array.strides),
                       itemsize=array.itemsize, meminfo=None, parent=None)  # fmt: skip
        return out._getvalue()

    return a(a), codegen
