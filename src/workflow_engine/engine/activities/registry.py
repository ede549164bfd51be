"""Which activities a worker serves: built-ins, the engine's own, and users' modules.

Activities are Temporal activities (`@activity.defn(name=...)`) called by name. A user module
(`settings.activity_modules`: dotted module names or paths of `.py` files) offers them in one of
three ways, first match wins:

1. `build_activities(...)`: a function returning the activity callables. It receives, by
   parameter name, whatever it asks for of `settings`, `database`, `services`, `client` (so
   activities can hold connections and configuration);
2. `ACTIVITIES`: a module-level list of activity callables;
3. otherwise every `@activity.defn` function defined in the module, and the `@activity.defn`
   methods of every class defined in it, instantiated with the same by-name parameters.

The engine's own activities (`wfe.apply_runtime_batch`, `wfe.resolve_definition`,
`wfe.broadcast_signal`, `wfe.send_message`) live in `workflow_engine.engine.activities.*`
modules and are collected the same way by :func:`build_engine_activities`; modules not present
yet are reported, not fatal.

Listener classes (`listeners[].class`) run as activities named by the class, so every
user activity name is a listener a worker implements: :meth:`ActivityRegistry.listener_names`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from temporalio import activity

__all__ = [
    "ENGINE_ACTIVITY_MODULES",
    "ENGINE_ACTIVITY_NAMES",
    "RESERVED_PREFIX",
    "ActivityContext",
    "ActivityLoadError",
    "ActivityRegistry",
    "EngineActivities",
    "RegisteredActivity",
    "activity_name",
    "build_engine_activities",
    "collect_module_activities",
    "declared_activity_names",
    "import_activity_module",
    "load_activity_modules",
]

#: Activity names starting with this belong to the engine; user modules cannot take them.
RESERVED_PREFIX = "wfe."

#: Modules holding the engine's own activities (written by the engine's other parts).
ENGINE_ACTIVITY_MODULES = (
    "workflow_engine.engine.activities.runtime",
    "workflow_engine.engine.activities.definitions",
    "workflow_engine.engine.activities.signals",
)
#: The engine activities the interpreter calls.
ENGINE_ACTIVITY_NAMES = frozenset(
    {
        "wfe.apply_runtime_batch",
        "wfe.resolve_definition",
        "wfe.broadcast_signal",
        "wfe.send_message",
    }
)

_BUILD_HOOK = "build_activities"
_LIST_NAME = "ACTIVITIES"


class ActivityLoadError(ValueError):
    """An activity module cannot be loaded or offers something unusable (message says which)."""


def activity_name(fn: object) -> str | None:
    """The Temporal activity name of a `@activity.defn` callable, or None if it is not one."""
    if not callable(fn):
        return None
    definition = activity._Definition.from_callable(fn)
    return None if definition is None else definition.name


@dataclass(frozen=True, slots=True)
class ActivityContext:
    """What `build_activities` hooks and activity classes may ask for, by parameter name.

    Attributes:
        settings: The service settings.
        database: The application database (`workflow_engine.store.database.Database`).
        services: The service container (`workflow_engine.services.container.Services`).
        client: The Temporal client the worker uses.
    """

    settings: Any = None
    database: Any = None
    services: Any = None
    client: Any = None

    def call(self, target: Callable[..., Any], *, what: str) -> Any:
        """Call `target` with the context values its signature names.

        Raises:
            ActivityLoadError: a required parameter is not a context value, or is unavailable.
        """
        available = {
            "settings": self.settings,
            "database": self.database,
            "services": self.services,
            "client": self.client,
        }
        try:
            signature = inspect.signature(target)
        except (TypeError, ValueError):
            return target()
        kwargs: dict[str, Any] = {}
        for name, parameter in signature.parameters.items():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            required = parameter.default is parameter.empty
            if name in available and available[name] is not None:
                kwargs[name] = available[name]
            elif required:
                why = (
                    f"this worker has no {name!r}"
                    if name in available
                    else f"only {', '.join(sorted(available))} are provided by name"
                )
                raise ActivityLoadError(f"{what} needs parameter {name!r}, but {why}")
        return target(**kwargs)


@dataclass(frozen=True, slots=True)
class RegisteredActivity:
    """One activity and where it came from (`builtin`, `engine` or a module)."""

    name: str
    fn: Callable[..., Any]
    origin: str


@dataclass
class ActivityRegistry:
    """Activities by name, without duplicates; hand `activities()` to the worker."""

    _by_name: dict[str, RegisteredActivity] = field(default_factory=dict)

    def add(self, fn: Callable[..., Any], *, origin: str, reserved_ok: bool = False) -> None:
        """Register one `@activity.defn` callable.

        Args:
            fn: The activity function or bound method.
            origin: Where it comes from, named in errors (`builtin`, a module name, …).
            reserved_ok: Allow a `wfe.` name (built-ins and engine activities only).

        Raises:
            ActivityLoadError: not an activity, a reserved name, or a name already taken.
        """
        name = activity_name(fn)
        if name is None:
            raise ActivityLoadError(
                f"{origin}: {_describe(fn)} is not an @activity.defn function or method"
            )
        if name.startswith(RESERVED_PREFIX) and not reserved_ok:
            raise ActivityLoadError(
                f"{origin}: activity name {name!r} is reserved for the engine "
                f"(names starting with {RESERVED_PREFIX!r}); choose another name"
            )
        existing = self._by_name.get(name)
        if existing is not None:
            raise ActivityLoadError(
                f"{origin}: activity {name!r} is already registered by {existing.origin}"
            )
        self._by_name[name] = RegisteredActivity(name=name, fn=fn, origin=origin)

    def extend(
        self, fns: Iterable[Callable[..., Any]], *, origin: str, reserved_ok: bool = False
    ) -> None:
        """Register several activities (see :meth:`add`)."""
        for fn in fns:
            self.add(fn, origin=origin, reserved_ok=reserved_ok)

    def load_modules(self, specs: Sequence[str], *, context: ActivityContext | None = None) -> None:
        """Import user activity modules and register what they offer.

        Raises:
            ActivityLoadError: naming the module and the problem.
        """
        for spec in specs:
            module = import_activity_module(spec)
            self.extend(collect_module_activities(module, context=context), origin=spec)

    def get(self, name: str) -> RegisteredActivity | None:
        """The activity registered under `name`, if any."""
        return self._by_name.get(name)

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._by_name)

    def activities(self) -> list[Callable[..., Any]]:
        """The callables to pass to `temporalio.worker.Worker(activities=...)`."""
        return [entry.fn for entry in self._by_name.values()]

    def listener_names(self) -> list[str]:
        """Names a listener `class` can take and be run (every non-engine activity), sorted."""
        return sorted(n for n in self._by_name if not n.startswith(RESERVED_PREFIX))

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._by_name)


def _describe(value: object) -> str:
    name = getattr(value, "__qualname__", None)
    return repr(name) if name else f"a {type(value).__name__}"


def import_activity_module(spec: str) -> ModuleType:
    """Import a module by dotted name, or load a `.py` file by path (no `sys.path` needed).

    Raises:
        ActivityLoadError: the module or file does not exist, or importing it failed.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ActivityLoadError(f"activity module {spec!r}: give a module name or a .py path")
    spec = spec.strip()
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        return _load_file(Path(spec))
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        raise ActivityLoadError(
            f"activity module {spec!r} cannot be imported: {exc} (is it installed or on "
            "PYTHONPATH? a file can be given as a path ending in .py)"
        ) from None
    except Exception as exc:
        raise ActivityLoadError(
            f"activity module {spec!r}: importing it failed: {type(exc).__name__}: {exc}"
        ) from exc


def _load_file(path: Path) -> ModuleType:
    resolved = path.expanduser().resolve()
    if not resolved.is_file():
        raise ActivityLoadError(f"activity module file {str(path)!r} does not exist")
    # A stable, unique name per file: the same file loads once per process; two files with the
    # same stem (examples/activities.py, mine/activities.py) do not collide.
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:10]
    name = f"wfe_activities_{resolved.stem}_{digest}"
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    module_spec = importlib.util.spec_from_file_location(name, resolved)
    if module_spec is None or module_spec.loader is None:
        raise ActivityLoadError(f"activity module file {str(path)!r} cannot be loaded")
    module = importlib.util.module_from_spec(module_spec)
    # Registered before running it: dataclasses and pickling look the module up by name.
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ActivityLoadError(
            f"activity module file {str(path)!r}: loading it failed: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def collect_module_activities(
    module: ModuleType, *, context: ActivityContext | None = None
) -> list[Callable[..., Any]]:
    """The activity callables a module offers (hook, `ACTIVITIES`, or decorated members).

    Raises:
        ActivityLoadError: the module offers nothing, or something that is not an activity.
    """
    context = context or ActivityContext()
    where = module.__name__
    hook = getattr(module, _BUILD_HOOK, None)
    if callable(hook):
        offered = context.call(hook, what=f"{where}.{_BUILD_HOOK}()")
        return _checked(offered, f"{where}.{_BUILD_HOOK}()")
    if hasattr(module, _LIST_NAME):
        return _checked(getattr(module, _LIST_NAME), f"{where}.{_LIST_NAME}")
    found: list[Callable[..., Any]] = []
    for value in vars(module).values():
        if getattr(value, "__module__", None) != module.__name__:
            continue  # imported from elsewhere: registered by its own module, not twice
        if inspect.isclass(value):
            methods = [
                member
                for member_name, member in inspect.getmembers(value, inspect.isfunction)
                if activity_name(member) is not None and not member_name.startswith("__")
            ]
            if methods:
                instance = context.call(value, what=f"{where}.{value.__name__}")
                found.extend(getattr(instance, method.__name__) for method in methods)
        elif activity_name(value) is not None:
            found.append(value)
    if not found:
        raise ActivityLoadError(
            f"activity module {where!r} offers no activities: decorate functions or methods "
            f"with @activity.defn, list them in {_LIST_NAME}, or define {_BUILD_HOOK}()"
        )
    return found


def _checked(offered: object, where: str) -> list[Callable[..., Any]]:
    if isinstance(offered, str | bytes | Mapping) or not isinstance(offered, Iterable):
        raise ActivityLoadError(f"{where} must be a list of activities, got {_describe(offered)}")
    items = list(offered)
    for index, item in enumerate(items):
        if activity_name(item) is None:
            raise ActivityLoadError(
                f"{where}[{index}] is not an @activity.defn function or method ({_describe(item)})"
            )
    return items


def load_activity_modules(
    specs: Sequence[str], *, context: ActivityContext | None = None
) -> list[Callable[..., Any]]:
    """Import each module (dotted name or `.py` path) and return every activity it offers.

    Raises:
        ActivityLoadError: naming the module and the problem.
    """
    found: list[Callable[..., Any]] = []
    for spec in specs:
        found.extend(collect_module_activities(import_activity_module(spec), context=context))
    return found


def declared_activity_names(specs: Sequence[str]) -> list[str]:
    """Activity names the modules declare, found without calling or instantiating anything.

    For processes that do not run the activities but must know them — the API filling
    `StartInstanceInput.implemented_listeners` — so no database or client is needed.

    Raises:
        ActivityLoadError: a module cannot be imported.
    """
    names: set[str] = set()
    for spec in specs:
        module = import_activity_module(spec)
        for value in vars(module).values():
            if callable(value) and getattr(value, "__module__", None) != module.__name__:
                continue  # imported from elsewhere, as in collect_module_activities
            if inspect.isclass(value):
                candidates = [m for _, m in inspect.getmembers(value, inspect.isfunction)]
            elif isinstance(value, list | tuple):
                candidates = list(value)  # `ACTIVITIES` or any module-level list of them
            else:
                candidates = [value]
            names.update(n for n in map(activity_name, candidates) if n is not None)
    return sorted(names)


@dataclass(frozen=True, slots=True)
class EngineActivities:
    """The engine's own activities that could be built, and which modules are not there yet."""

    activities: list[Callable[..., Any]]
    missing_modules: list[str]

    @property
    def names(self) -> frozenset[str]:
        """Names of the activities built."""
        return frozenset(n for n in map(activity_name, self.activities) if n is not None)

    @property
    def missing_names(self) -> frozenset[str]:
        """Engine activities the interpreter calls that no module provided."""
        return ENGINE_ACTIVITY_NAMES - self.names


def build_engine_activities(
    context: ActivityContext, *, modules: Sequence[str] = ENGINE_ACTIVITY_MODULES
) -> EngineActivities:
    """Build the engine's own activities (database projection, definitions, signals).

    Each module offers them like a user module does; a `build_activities(database=...,
    services=..., client=..., settings=...)` hook is the intended form. A module that does
    not exist is listed in `missing_modules` (the worker logs it); one that exists but fails
    to import is an error.

    Raises:
        ActivityLoadError: a present module fails to load or offers something unusable.
    """
    built: list[Callable[..., Any]] = []
    missing: list[str] = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                missing.append(name)
                continue
            raise ActivityLoadError(f"engine activity module {name!r}: {exc}") from exc
        built.extend(collect_module_activities(module, context=context))
    return EngineActivities(activities=built, missing_modules=missing)
