"""A user activity module as `load_activity_modules` finds it: decorated functions and a class."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from workflow_engine.engine.activities.builtin import noop  # imported: must not be collected


@activity.defn(name="sample.Greet")
async def greet(data: dict[str, Any]) -> dict[str, Any]:
    return {"greeting": f"hello {data['name']}"}


@activity.defn
def shout(data: dict[str, Any]) -> str:
    return str(data["text"]).upper()


def helper() -> None:
    """Not an activity."""


class Counter:
    def __init__(self, settings: Any = None) -> None:
        self.settings = settings
        self.calls = 0

    @activity.defn(name="sample.Count")
    async def count(self, _data: Any = None) -> int:
        self.calls += 1
        return self.calls

    def not_an_activity(self) -> None:
        """Plain method."""


__all__ = ["Counter", "greet", "helper", "noop", "shout"]
