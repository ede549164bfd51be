"""ActivityRegistry and module loading: decorated members, ACTIVITIES, hooks, errors."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity

from workflow_engine.engine.activities.builtin import builtin_activities, noop
from workflow_engine.engine.activities.http import HttpActivities
from workflow_engine.engine.activities.registry import (
    ENGINE_ACTIVITY_NAMES,
    ActivityContext,
    ActivityLoadError,
    ActivityRegistry,
    activity_name,
    build_engine_activities,
    collect_module_activities,
    declared_activity_names,
    import_activity_module,
    load_activity_modules,
)

SAMPLE = "tests.engine.activities.sample_activities"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "activities.py"


def _write(tmp_path: Path, name: str, source: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def test_decorated_functions_and_class_methods_are_collected() -> None:
    activities = load_activity_modules([SAMPLE], context=ActivityContext(settings="S"))
    names = sorted(n for n in map(activity_name, activities) if n)
    # `noop` is imported into the module, not defined there: not collected twice.
    assert names == ["sample.Count", "sample.Greet", "shout"]
    count = next(a for a in activities if activity_name(a) == "sample.Count")
    assert count.__self__.settings == "S"  # type: ignore[attr-defined]


async def test_collected_activities_work() -> None:
    registry = ActivityRegistry()
    registry.load_modules([SAMPLE])
    greet = registry.get("sample.Greet")
    assert greet is not None
    assert greet.origin == SAMPLE
    assert await greet.fn({"name": "Ann"}) == {"greeting": "hello Ann"}


def test_activities_list_and_file_paths(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "listed.py",
        """
        from temporalio import activity

        @activity.defn(name="listed.A")
        async def a(data): return 1

        @activity.defn(name="listed.Hidden")
        async def hidden(data): return 2

        ACTIVITIES = [a]
        """,
    )
    assert [activity_name(a) for a in load_activity_modules([path])] == ["listed.A"]
    # Loading the same file again reuses the module (one module object per file).
    assert import_activity_module(path) is import_activity_module(path)


def test_build_hook_receives_context_by_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "hooked.py",
        """
        from temporalio import activity

        def build_activities(database, settings=None):
            @activity.defn(name="hooked.Db")
            async def db(data):
                return database
            return [db]
        """,
    )
    found = load_activity_modules([path], context=ActivityContext(database="DB"))
    assert [activity_name(a) for a in found] == ["hooked.Db"]
    with pytest.raises(ActivityLoadError, match=r"needs parameter 'database'.*no 'database'"):
        load_activity_modules([path], context=ActivityContext())


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("x = 1\n", "offers no activities"),
        ("ACTIVITIES = [print]\n", r"ACTIVITIES\[0\] is not an @activity.defn"),
        ("ACTIVITIES = 'abc'\n", "must be a list of activities"),
        ("def build_activities(): return [1]\n", r"build_activities\(\)\[0\]"),
        ("def build_activities(token): return []\n", "needs parameter 'token'"),
        ("raise RuntimeError('boom')\n", "loading it failed: RuntimeError: boom"),
    ],
)
def test_bad_modules_are_clear_errors(tmp_path: Path, source: str, fragment: str) -> None:
    path = _write(tmp_path, f"bad_{abs(hash(source))}.py", source)
    with pytest.raises(ActivityLoadError, match=fragment):
        load_activity_modules([path])


def test_missing_modules_and_files() -> None:
    with pytest.raises(ActivityLoadError, match=r"'no_such_pkg.acts' cannot be imported"):
        load_activity_modules(["no_such_pkg.acts"])
    with pytest.raises(ActivityLoadError, match="does not exist"):
        load_activity_modules(["/nonexistent/acts.py"])
    with pytest.raises(ActivityLoadError, match="give a module name"):
        load_activity_modules([" "])


async def test_registry_rejects_duplicates_reserved_names_and_non_activities(
    tmp_path: Path,
) -> None:
    registry = ActivityRegistry()
    http = HttpActivities()
    try:
        registry.extend(builtin_activities(http=http), origin="builtin", reserved_ok=True)
    finally:
        await http.aclose()
    assert "wfe.http" in registry
    assert len(registry) == 3
    with pytest.raises(ActivityLoadError, match=r"'wfe.noop' is already registered by builtin"):
        registry.add(noop, origin="again", reserved_ok=True)
    with pytest.raises(ActivityLoadError, match="reserved for the engine"):
        ActivityRegistry().add(noop, origin="user.mod")
    with pytest.raises(ActivityLoadError, match=r"'print' is not an @activity.defn"):
        registry.add(print, origin="user.mod")

    path = _write(
        tmp_path,
        "clash.py",
        """
        from temporalio import activity

        @activity.defn(name="shout")
        async def other(data): return None
        """,
    )
    registry.load_modules([SAMPLE])
    with pytest.raises(ActivityLoadError, match=f"'shout' is already registered by {SAMPLE}"):
        registry.load_modules([path])


def test_listener_names_are_the_non_engine_activities() -> None:
    @activity.defn(name="com.acme.AuditListener")
    async def audit(event: dict[str, Any]) -> dict[str, Any]:
        return {}

    registry = ActivityRegistry()
    registry.add(noop, origin="builtin", reserved_ok=True)
    registry.add(audit, origin="test")
    assert registry.listener_names() == ["com.acme.AuditListener"]
    assert registry.names() == ["com.acme.AuditListener", "wfe.noop"]
    assert registry.activities() == [noop, audit]


def test_examples_module_offers_the_seed_activities_and_listeners(tmp_path: Path) -> None:
    settings = type("S", (), {"data_dir": tmp_path})()
    registry = ActivityRegistry()
    registry.load_modules([str(EXAMPLES)], context=ActivityContext(settings=settings))
    expected = [
        "CompleteRegistrationActivity",
        "RejectRegistrationActivity",
        "SendEmailActivity",
        "com.example.EmailStartListener",
        "com.example.ProcessEndListener",
        "com.example.ProcessStartListener",
        "com.example.TaskCompleteListener",
        "com.example.TaskCreateListener",
    ]
    assert registry.listener_names() == expected
    # Found statically too (for the API, which does not run activities).
    assert declared_activity_names([str(EXAMPLES)]) == expected
    assert declared_activity_names([SAMPLE]) == ["sample.Count", "sample.Greet", "shout"]


def test_engine_activities_missing_modules_are_reported(tmp_path: Path) -> None:
    result = build_engine_activities(
        ActivityContext(), modules=["workflow_engine.engine.activities.not_written_yet", SAMPLE]
    )
    assert result.missing_modules == ["workflow_engine.engine.activities.not_written_yet"]
    assert result.names == {"sample.Count", "sample.Greet", "shout"}
    assert result.missing_names == ENGINE_ACTIVITY_NAMES


def test_engine_module_that_fails_to_import_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ActivityLoadError, match="no_such_dependency"):
        build_engine_activities(
            ActivityContext(), modules=["tests.engine.activities.broken_engine"]
        )


def test_collect_module_activities_from_module_object() -> None:
    module = import_activity_module(SAMPLE)
    assert len(collect_module_activities(module)) == 3
