"""``@jit``: specialisation by argument types, cache lookup, the call.

Contract: a :class:`Dispatcher` wraps a Python function.  The hot path is
one C call: the most recent specialisation checks its own argument types and
answers ``NotImplemented`` when they differ.  Then the arguments are mapped
to a cheap type key; a key seen before goes to its entry point, a new one is
typed precisely (bad arguments raise TypeError naming the parameter), looked
up in the disk cache (validating the globals it was compiled against) and
otherwise compiled, built and stored.  An offloading entry answering
``Ellipsis`` found overlapping array arguments and the call goes to the
host-only version (its loops check overlaps themselves).

Device arrays.  A :class:`~hybridjit.runtime.device_array.DeviceArray`
argument is typed as its host array.  A foreign CUDA array (anything with
``__cuda_array_interface__``: CuPy, PyTorch, Numba) is typed as an array of
its dtype, ndim and layout, and on each call adopted as a DeviceArray whose
device buffer is the foreign memory (:mod:`~hybridjit.runtime.interop`): used
in place, no copies while kernels use it.  Specialisations given either kind
go through :func:`_resident_adapter`: arrays whose device the call's regions
cannot use on their device are brought to the host first; host writes to
adopted arrays are copied back to the foreign memory when the call returns,
and an argument returned as is comes back as the object passed in.  A
foreign array whose device is unavailable raises DeviceError naming the
argument and the reason, before anything is compiled.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import replace
from typing import Any

import numpy as np

from . import config
from .cache_key import code_fingerprint, compiler_fingerprint
from .config import CompileOptions
from .errors import HybridJitError, InternalError
from .runtime import interop
from .types import Type, typeof_value

#: first item of the type key of a foreign device array
_FOREIGN = "foreign"


def _type_key(a: Any) -> Any:
    t = type(a)
    if t is np.ndarray:
        return (a.dtype, a.ndim, a.flags.c_contiguous)
    if hasattr(a, "host_storage"):  # DeviceArray: typed as its host array
        h = a.host_storage
        return (t, h.dtype, h.ndim, h.flags.c_contiguous)
    foreign = interop.foreign_array(a) if interop.may_be_foreign(a) else None
    if foreign is not None:  # typed like a DeviceArray of its dtype, ndim and layout
        return (_FOREIGN, foreign.device_kind, foreign.dtype, foreign.ndim,
                foreign.c_contiguous)
    return t


def _is_resident(a: Any, key: Any) -> bool:
    """A DeviceArray or a foreign device array, given its type key."""
    return hasattr(a, "host_storage") or (isinstance(key, tuple) and key[0] == _FOREIGN)


def _host_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(a.host_storage if hasattr(a, "host_storage") else a for a in args)


class Dispatcher:
    """A jit-compiled function (see the module docstring)."""

    def __init__(self, pyfunc: Any, options: CompileOptions):
        self.py_func = pyfunc
        self.options = options
        self._entries: dict[tuple[Any, ...], Any] = {}
        self._types: dict[tuple[Any, ...], tuple[Type, ...]] = {}
        self._keys: dict[tuple[Any, ...], str] = {}
        self.compile_count = 0
        self.last_stats: dict[str, Any] | None = None
        self._host: Dispatcher | None = None
        self._last: Any = _never_matches
        functools.update_wrapper(self, pyfunc)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:  # f(a, steps=10): bound by Python's rules, then positional
            args = self._bind(args, kwargs)
        # Hot path: the last specialisation checks its own argument types in C
        # and answers NotImplemented when they differ.
        result = self._last(*args)
        if result is NotImplemented:
            try:
                result = self._call_by_type(args)
            except InternalError:
                raise  # a hybridjit bug: keep every frame for the report
            except Exception as exc:
                # the user's mistake (or their data's): their line and the
                # message, not the dispatcher's frames
                raise exc.with_traceback(None) from None
        if result is Ellipsis:
            # Offloading code found overlapping array arguments: run the
            # host-only version (see c_openmp.OpenMPRenderer.overlap_guard).
            return self._host_version()(*args)
        return result

    def _call_by_type(self, args: tuple[Any, ...]) -> Any:
        args = self._complete(args)
        key = self._key(args)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._specialise(args, key)
        self._last = entry
        result = entry(*args)
        if result is NotImplemented:
            raise InternalError(f"the specialisation for {key} rejected its own arguments")
        return result

    def _key(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        keys = []
        for k, a in enumerate(args):
            try:
                keys.append(_type_key(a))
            except HybridJitError as exc:  # a foreign array's unusable interface
                raise interop.relabel(exc, self._arg_label(k)) from None
        return tuple(keys)

    def _arg_label(self, k: int) -> str:
        names = self._param_names()
        name = names[k] if k < len(names) else f"#{k}"
        return f"{self.py_func.__qualname__}(): argument '{name}'"

    def _host_version(self) -> Dispatcher:
        if self._host is None:
            self._host = Dispatcher(self.py_func, replace(self.options, target="cpu"))
        return self._host

    def explain(self, *args: Any, **kwargs: Any) -> Any:
        """Per loop: parallel or not, and why; where each region may run."""
        from .explain import explain

        try:
            if kwargs:
                args = self._bind(args, kwargs)
            return explain(self, self.arg_types(self._complete(args)))
        except HybridJitError as exc:
            raise exc.with_traceback(None) from None

    def dask(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Run over Dask arrays block by block (hybridjit.distributed): lazy
        Dask arrays, one per written argument, then the returned value."""
        from .distributed import dask_call

        try:
            return dask_call(self, args, kwargs)
        except HybridJitError as exc:
            raise exc.with_traceback(None) from None

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self) -> str:
        return f"<hybridjit function {self.py_func.__qualname__}>"

    @property
    def signatures(self) -> list[tuple[Type, ...]]:
        return list(self._types.values())

    # ------------------------------------------------------------ specialising

    def arg_types(self, args: tuple[Any, ...]) -> tuple[Type, ...]:
        names = self._param_names()
        out: list[Type] = []
        for k, a in enumerate(_host_args(args)):
            name = names[k] if k < len(names) else f"#{k}"
            foreign = _foreign(a, self._arg_label(k)) if interop.may_be_foreign(a) else None
            if foreign is not None:
                out.append(foreign.hybrid_type())
                continue
            try:
                t = typeof_value(a)
            except TypeError as exc:
                raise TypeError(
                    f"{self.py_func.__qualname__}(): argument '{name}' has unsupported type "
                    f"{_describe(a)}: {exc}"
                ) from None
            if isinstance(a, np.ndarray) and not a.dtype.isnative:
                raise TypeError(
                    f"{self.py_func.__qualname__}(): argument '{name}' has non-native byte "
                    f"order {a.dtype}; convert with a.astype(a.dtype.newbyteorder('='))"
                )
            if isinstance(a, tuple):
                raise TypeError(
                    f"{self.py_func.__qualname__}(): argument '{name}' is a tuple; pass its "
                    "items as separate arguments or as an array"
                )
            out.append(t)
        return tuple(out)

    def _param_names(self) -> list[str]:
        code = self.py_func.__code__
        return list(code.co_varnames[: code.co_argcount])

    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """Keyword arguments put in their places (Python's TypeError for an
        unknown, repeated or missing one); defaults are filled later."""
        import inspect

        sig = inspect.signature(self.py_func)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.py_func.__qualname__}(): {exc}") from None
        bound.apply_defaults()
        return tuple(bound.args)

    def _complete(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """Every parameter's argument: omitted trailing ones from the
        defaults; a wrong count is Python's TypeError."""
        from .frontend.source import check_signature

        check_signature(self.py_func)
        nparams = self.py_func.__code__.co_argcount
        defaults = self.py_func.__defaults__ or ()
        if nparams - len(defaults) <= len(args) < nparams:
            return args + tuple(defaults[len(defaults) - (nparams - len(args)):])
        if len(args) != nparams:
            raise TypeError(f"{self.py_func.__qualname__}() takes {nparams} positional "
                            f"arguments but {len(args)} were given")
        return args

    def _specialise(self, args: tuple[Any, ...], key: tuple[Any, ...]) -> Any:
        types = self.arg_types(args)
        interop.require_devices(args, self._arg_label)  # before the compiler runs
        offload = self._wants_offload()
        cache_key = self._cache_key(types, offload)
        try:
            entry = _load_or_build(self, types, cache_key, offload)
        except InternalError:
            raise
        except HybridJitError as exc:
            # The user's error is at their line; frames inside the compiler
            # would only hide it.
            raise exc.with_traceback(None) from None
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # anything else from inside the compiler is its bug
            raise InternalError(f"compiling {self.py_func.__qualname__} failed: "
                                f"{type(exc).__name__}: {exc}") from exc
        if any(_is_resident(a, k) for a, k in zip(args, key, strict=True)):
            entry = _resident_adapter(self, entry)
        self._entries[key] = entry
        self._types[key] = types
        self._keys[key] = cache_key
        return entry

    def _wants_offload(self) -> bool:
        target = self.options.target
        if target == "cpu":
            return False
        if target == "auto":
            from .runtime.registry import accelerator_may_exist

            return accelerator_may_exist()
        return True

    def _cache_key(self, types: tuple[Type, ...], offload: bool) -> str:
        from .runtime.cpu import python_tag, toolchain

        h = hashlib.sha256()
        for part in (config.VERSION, compiler_fingerprint(), python_tag(),
                     code_fingerprint(self.py_func),
                     repr(types), self.options.key(), str(offload), toolchain().build_key,
                     " ".join(config.extra_cflags()), np.__version__):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()

    # ------------------------------------------------------------ introspection

    def inspect_source(self, *args: Any) -> str:
        """The generated C of the specialisation for ``args`` (compiling it if
        needed); without arguments, of the most recent specialisation."""
        from .runtime import cache

        if args:
            args = self._complete(args)
            key = self._key(args)
            if key not in self._keys:
                self._specialise(args, key)
        elif not self._keys:
            raise ValueError("no specialisation compiled yet: pass example arguments")
        else:
            key = list(self._keys)[-1]
        found = cache.lookup(self._keys[key], lambda a: True)
        if found is None:
            raise FileNotFoundError("generated source is no longer in the cache")
        return found.source_path.read_text()

    def inspect_types(self, *args: Any) -> str:
        """The typed IR of the specialisation for ``args``."""
        from .ir.printer import format_program
        from .pipeline import analyse

        program, _, _ = analyse(self.py_func, self.arg_types(self._complete(args)), self.options)
        return format_program(program)


def _foreign(a: Any, label: str) -> Any:
    """The ForeignArray ``a`` exposes, or None; errors name the argument."""
    try:
        return interop.foreign_array(a)
    except HybridJitError as exc:
        raise interop.relabel(exc, label) from None


def _resident_adapter(disp: Dispatcher, entry: Any) -> Any:
    """Wrap an entry given DeviceArrays or foreign device arrays (see the
    module docstring): adopt the foreign ones for the call, pass host
    storage, bring home the arrays the call's regions cannot use in place
    (all of them for host-only code: the device copy is then stale and is
    refreshed on its next device use), release the adopted ones after."""
    offloading = getattr(entry, "offloading", False)
    target = disp.options.target

    def call(*args: Any) -> Any:
        adopted = interop.adopt_arguments(args, disp._arg_label)
        try:
            passed = [adopted.get(k, a) for k, a in enumerate(args)]
            home = _session_manager(target) if offloading else None
            host = []
            for a in passed:
                if hasattr(a, "host_storage"):
                    if a.manager is not home:
                        a.manager.prepare_host_access(a, write=True)
                    host.append(a.host_storage)
                else:
                    host.append(a)
            result = entry(*host)
        finally:
            moved = interop.release(d for d in adopted.values() if hasattr(d, "host_storage"))
            if offloading and disp.last_stats is not None:
                # host writes copied back to foreign memory are this call's transfers too
                disp.last_stats["bytes_to_device"] += moved.bytes_to_device
        return _returned(result, host, args)

    call.offloading = offloading  # type: ignore[attr-defined]
    return call


def _session_manager(target: str) -> Any:
    """The memory manager the offload session of this call will use (the
    same choice as ``OffloadSession``): only its arrays stay on the device."""
    from .runtime import registry
    from .runtime.offload import session_kind

    kind = session_kind(target)
    return registry.get_memory_manager(kind) if kind is not None else None


def _returned(result: Any, host: list[Any], args: tuple[Any, ...]) -> Any:
    """An argument's host storage returned as is becomes the argument itself
    (the DeviceArray or foreign array passed in, never its private host side)."""
    if isinstance(result, tuple):
        return tuple(_returned(r, host, args) for r in result)
    if isinstance(result, np.ndarray):
        for h, a in zip(host, args, strict=True):
            if result is h:
                return a
    return result


def _never_matches(*args: Any) -> Any:
    return NotImplemented


def _describe(a: Any) -> str:
    if isinstance(a, np.ndarray):
        kind = "numpy array" if type(a) is np.ndarray else type(a).__name__
        return f"{kind} of dtype {a.dtype}"
    return type(a).__name__


def _load_or_build(disp: Dispatcher, types: tuple[Type, ...], key: str, offload: bool) -> Any:
    import pickle

    from .runtime import cache

    # HYBRIDJIT_DUMP asks to see every stage, so it always recompiles.
    found = None if config.dump_dir() else cache.lookup(
        key, lambda a: _assumptions_hold(a, disp.py_func))
    loaded = cache.load(found, _load_entry) if found is not None else None
    if loaded is None:
        from .pipeline import compile_to_c
        from .runtime.cpu import build_extension

        name = cache.module_name(key)
        compiled = compile_to_c(disp.py_func, types, disp.options, name, offload)
        disp.compile_count += 1
        found = cache.store(
            key, compiled.c_source, compiled.assumptions,
            lambda path: build_extension(compiled.c_source, path, disp.options.fastmath),
            pickle.dumps(compiled.regions) if compiled.regions else None,
        )
        loaded = _load_entry(found.so_path, found.module_name), cache.read_payload(found)
    entry, all_regions = loaded
    if not offload or all_regions is None:
        return entry
    return _offloading_entry(disp, entry, all_regions)


def _offloading_entry(disp: Dispatcher, entry: Any, regions: list[Any]) -> Any:
    """Wrap an entry whose regions may run on a device: one session per call."""
    from .runtime.offload import OffloadSession

    target = disp.options.target

    def call(*args: Any) -> Any:
        session = OffloadSession(regions, target)
        try:
            return entry(*_host_args(args), session)
        finally:
            if not any(r.rid >= 0 for r in regions):
                session.finish()  # no hook call reached it: summarise here
            disp.last_stats = session.stats

    call.offloading = True  # type: ignore[attr-defined]
    return call


def _load_entry(path: Any, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, str(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.entry


def _assumptions_hold(assumptions: list[list[str]], pyfunc: Any) -> bool:
    """Whether every global the compilation resolved still has the value it
    had; the entry function's names are looked up in its own ``__globals__``
    (a copy of a function with other globals is another function)."""
    import builtins
    import sys

    from .cache_key import fingerprint

    for module_name, name, fp in assumptions:
        if module_name == pyfunc.__module__:
            scope: dict[str, Any] = pyfunc.__globals__
        elif module_name in sys.modules:
            scope = vars(sys.modules[module_name])
        else:
            return False
        if name.startswith("<code>"):  # a helper function, by qualified name
            head, *rest = name[len("<code>"):].split(".")
            obj = scope.get(head)
            for part in rest:
                obj = getattr(obj, part, None)
        else:
            obj = scope[name] if name in scope else getattr(builtins, name, None)
        if obj is None or fingerprint(obj) != fp:
            return False
    return True

