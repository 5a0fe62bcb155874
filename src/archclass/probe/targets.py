"""What `probe` can be pointed at, turned into a module to measure.

A target is a reference name (`mamba`), a registry id or alias that has a reference (`transformer`),
a file and class (`path/to/file.py:ClassName`, built with the given keyword arguments), or a module
object already built. Every way this can fail is one line that says what to do.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError


@dataclass
class Target:
    label: str
    model: Any
    d_model: int
    kwargs: dict[str, Any]
    arch_id: str | None = None
    """The registry entry the target implements (references only): its claims are checked."""
    registry_symbols: dict[str, float] | None = None


def positive_width(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ArchclassError(f"{where}: d_model must be a positive integer, not {value!r}")
    return value


def load_module_class(spec: str) -> Callable[..., Any]:
    """'path/to/file.py:ClassName' to the class, with one-line errors for every way it can fail."""
    path_text, sep, name = spec.rpartition(":")
    if not sep or not path_text or not name:
        raise ArchclassError(f"--module {spec!r}: expected path/to/file.py:ClassName")
    path = Path(path_text)
    if not path.is_file():
        raise ArchclassError(f"--module {spec!r}: no such file {path}")
    module_name = f"archclass_user_{path.stem}"
    import_spec = importlib.util.spec_from_file_location(module_name, path)
    if import_spec is None or import_spec.loader is None:
        raise ArchclassError(f"--module {spec!r}: {path} is not an importable Python file")
    module = importlib.util.module_from_spec(import_spec)
    sys.modules[module_name] = module
    try:
        import_spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        raise ArchclassError(f"--module {spec!r}: importing {path} failed: {type(error).__name__}: {error}") from None
    cls = getattr(module, name, None)
    if cls is None:
        raise ArchclassError(f"--module {spec!r}: {path} defines no {name!r}")
    return cls  # type: ignore[no-any-return]


def check_osp(model: Any, label: str) -> None:
    missing = [method for method in ("init_state", "step", "forward") if not callable(getattr(model, method, None))]
    if missing:
        raise ArchclassError(
            f"{label} does not follow the OSP interface: missing {', '.join(missing)} "
            "(see the README: init_state(batch), step(x, state), forward(x))"
        )
    if not callable(getattr(model, "to", None)):
        raise ArchclassError(f"{label} is not a torch.nn.Module (the probe moves it with .to(device, dtype))")


def _user_module(path: str, d_model: int, kwargs: Mapping[str, Any]) -> Target:
    arguments = dict(kwargs)
    width = positive_width(arguments.setdefault("d_model", d_model), f"--module {path}")
    cls = load_module_class(path)
    try:
        model = cls(**arguments)
    except (Exception, SystemExit) as error:
        name = getattr(cls, "__name__", cls)
        raise ArchclassError(f"--module {path}: constructing {name}(**{arguments}) failed: {error}") from None
    check_osp(model, path)
    return Target(path, model, width, arguments)


def _reference(name: str, d_model: int, overrides: Mapping[str, Any], registry: Any, size: Any) -> Target:
    from archclass.reference import build, catalog, for_arch, kwargs_at

    spec = for_arch(name)
    if spec is None and registry is not None and name in registry:
        spec = for_arch(registry.get(name).id)
    if spec is None:
        raise ArchclassError(f"no reference implementation for {name!r}; available: {', '.join(sorted(catalog()))}")
    overrides = dict(overrides)
    width = positive_width(overrides.pop("d_model", d_model), spec.name)
    kwargs = {**(kwargs_at(spec, size) if size is not None else spec.kwargs), **overrides}
    try:
        model = build(spec, width, **kwargs)
    except (TypeError, ValueError) as error:
        raise ArchclassError(f"{spec.name}: cannot be built with {kwargs} at d_model={width}: {error}") from None
    symbols = spec.registry_symbols(width, kwargs) if spec.registry_symbols else None
    return Target(spec.name, model, width, kwargs, spec.arch_id, symbols)


def resolve(target: Any, *, d_model: int, kwargs: Mapping[str, Any], registry: Any = None, size: Any = None) -> Target:
    """A Target from a reference name or registry id, a 'file.py:Class' path, or a module object. A
    reference takes its hyperparameters at `size` (a ModelSize; None: its probe kwargs), then kwargs."""
    if isinstance(target, str):
        if ":" in target or target.endswith(".py"):
            return _user_module(target, d_model, kwargs)
        return _reference(target, d_model, kwargs, registry, size)
    label = type(target).__name__
    check_osp(target, label)
    width = getattr(target, "d_model", d_model)
    return Target(label, target, positive_width(width, label), dict(kwargs))
