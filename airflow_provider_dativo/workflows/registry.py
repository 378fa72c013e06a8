"""Where ``workflow_ref`` names come from, and how they become functions.

A reference is, in this order of precedence:

1. a name registered with :func:`register_workflow` (the built-ins ``dativo_ingest`` and
   ``iceberg_maintenance``, and functions in the file's ``workflow_modules``);
2. the name of an entry point of group ``dativo.workflows`` (``name = package.module:function``
   in a distribution's metadata);
3. ``package.module:function``.

Resolving at parse time must stay cheap: entry points are checked in the installed metadata
without being loaded, and modules must keep heavy imports (pyarrow, pyiceberg) inside their
functions, as the built-ins do. The function itself is loaded when a task runs.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "dativo.workflows"
BUILTIN_MODULES = (
    "airflow_provider_dativo.workflows.builtins.ingest",
    "airflow_provider_dativo.workflows.builtins.maintenance",
)
_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

WorkflowFunction = Callable[..., Any]


@dataclass(frozen=True)
class WorkflowDefinition:
    """A workflow function and, optionally, the pydantic model its own params must fit."""

    name: str
    func: WorkflowFunction
    params_model: type[BaseModel] | None = None

    @property
    def origin(self) -> str:
        return f"{self.func.__module__}:{self.func.__qualname__}"


class WorkflowLookupError(LookupError):
    """A reference that cannot be resolved; ``known`` lists the names that can."""

    def __init__(self, ref: str, known: list[str], why: str = "") -> None:
        self.ref, self.known, self.why = ref, known, why
        super().__init__(why or f"unknown workflow {ref!r}")


_registry: dict[str, WorkflowDefinition] = {}


def register_workflow(
    name: str, *, params_model: type[BaseModel] | None = None
) -> Callable[[WorkflowFunction], WorkflowFunction]:
    """Register the decorated function as workflow ``name``.

    The function is called as ``func(params)`` or, when it takes a second argument (or one named
    ``context``), ``func(params, context)`` with a :class:`~.context.WorkflowContext`; written
    ``func(**params)`` (keyword parameters only), it gets the params as keyword arguments. It returns
    a dict (or ``None``). ``params_model`` (a strict pydantic model) checks the task's own params
    when the file is loaded, so a typo is reported with file, line and field before any run.

    Registering another function under a taken name is an error; registering the same function
    again (its module was imported anew) replaces it.
    """

    def decorate(func: WorkflowFunction) -> WorkflowFunction:
        definition = WorkflowDefinition(name, func, params_model)
        existing = _registry.get(name)
        if existing is not None and existing.origin != definition.origin:
            raise ValueError(f"workflow {name!r} is already registered by {existing.origin}")
        _registry[name] = definition
        func.__dativo_workflow__ = definition  # type: ignore[attr-defined]
        return func

    return decorate


def _load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points  # scans every installed distribution: only when needed

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_names() -> list[str]:
    """Every name a reference may use: registered ones, then entry points."""
    _load_builtins()
    return sorted(set(_registry) | set(_entry_points()))


def is_function_ref(ref: str) -> bool:
    return ":" in ref


def resolve(ref: str, *, load_entry_point: bool = False) -> WorkflowDefinition | None:
    """The definition ``ref`` stands for; ``None`` for an entry point that is not loaded.

    Raises :class:`WorkflowLookupError` when nothing answers to ``ref``.
    """
    _load_builtins()
    if ref in _registry:
        return _registry[ref]
    if is_function_ref(ref):
        return _import_function(ref)
    found = _entry_points().get(ref)
    if found is None:
        raise WorkflowLookupError(ref, known_names())
    if not load_entry_point:
        return None
    func = found.load()
    return getattr(func, "__dativo_workflow__", None) or WorkflowDefinition(ref, func)


def _import_function(ref: str) -> WorkflowDefinition:
    if not _REF.match(ref):
        raise WorkflowLookupError(ref, known_names(), "a function reference is 'package.module:function'")
    module_name, attribute = ref.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise WorkflowLookupError(ref, known_names(), f"module {exc.name!r} is not importable") from None
    func = getattr(module, attribute, None)
    if not callable(func):
        raise WorkflowLookupError(ref, known_names(), f"module {module_name!r} has no function {attribute!r}")
    return getattr(func, "__dativo_workflow__", None) or WorkflowDefinition(ref, func)


def import_workflow_module(entry: str) -> ModuleType:
    """Import one ``workflow_modules`` entry: an absolute ``.py`` path or a module name.

    A file is imported under a name derived from its path and imported again only when it
    changed, so parsing a DAG file twice registers its workflows once.
    """
    if not entry.endswith(".py"):
        return importlib.import_module(entry)
    path = Path(entry)
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"_dativo_workflows_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}_{digest}"
    mtime = path.stat().st_mtime_ns
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__dativo_mtime__", None) == mtime:
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    module.__dativo_mtime__ = mtime  # type: ignore[attr-defined]
    for stale in [n for n, d in _registry.items() if d.func.__module__ == name]:
        del _registry[stale]  # what the new version no longer registers must be unknown
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_workflow(ref: str, modules: list[str]) -> WorkflowDefinition:
    """The callable of ``ref`` when a task runs: import ``modules``, then resolve and load."""
    for entry in modules:
        import_workflow_module(entry)
    definition = resolve(ref, load_entry_point=True)
    assert definition is not None
    return definition
