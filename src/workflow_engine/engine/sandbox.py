"""The workflow sandbox runner, minus two per-call costs of Temporal's own.

Temporal's `SandboxedWorkflowRunner` enters the sandbox by `exec`-ing a small source string:
once per activation, and — far more often — once per payload the worker encodes or decodes,
to ask the workflow for that payload's serialization context. `exec` of a string compiles it
every time (17 µs here, against 1 µs for the compiled code), and the context calls alone were
about 8 % of the worker's CPU in `bench/run_benchmark.py`, more than the interpreter's own
work in the activations.

:class:`FastSandboxedWorkflowRunner` keeps the sandbox exactly as it is (same restrictions,
same importer, same code run in it) and changes only this:

* the source strings are compiled once and the code objects reused;
* with `contexts_unused`, the serialization and external-store contexts are not asked for:
  Temporal uses them only to pick the payload codec and external storage per command, so
  when the data converter has neither, or only a codec that ignores contexts (the default
  converter, or the engine's encryption codec, as `build_worker` checks), the answer cannot
  change any payload. The "no context" answers are the ones Temporal itself
  uses when there is no command (`None`, and a store context without a target).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import CodeType
from typing import Any

from temporalio.converter import DataConverter, WithSerializationContext
from temporalio.converter._extstore import StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

__all__ = ["FastSandboxedWorkflowRunner", "contexts_unused"]


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> CodeType:
    # The runner's sources are a handful of fixed strings (module and class names vary per
    # workflow type only), so the cache stays tiny.
    return compile(source, "<workflow_sandbox>", "exec")


def contexts_unused(converter: DataConverter) -> bool:
    """Whether per-command serialization contexts cannot matter for `converter`.

    True when it has no external storage and no payload codec that takes a context (the only
    parts of the worker's payload visiting that depend on it). The engine's encryption codec
    takes none: the same keys encrypt every payload, whatever command it belongs to.
    """
    codec = converter.payload_codec
    context_free = codec is None or not isinstance(codec, WithSerializationContext)
    return context_free and getattr(converter, "external_storage", None) is None


class _CompiledInstance(_Instance):
    """Temporal's sandboxed workflow instance with compiled entry code (see module doc)."""

    def __init__(self, *args: Any, contexts_unused: bool, **kwargs: Any) -> None:
        # Set before the parent's __init__, which already enters the sandbox.
        self._wfe_contexts_unused = contexts_unused
        super().__init__(*args, **kwargs)

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # `exec` takes a code object as well as source text: same code, compiled once.
        super()._run_code(_compiled(code), **extra_globals)  # type: ignore[arg-type]

    def get_serialization_context(self, command_info: Any) -> Any:
        if self._wfe_contexts_unused:
            return None
        return super().get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> StorageDriverStoreContext:
        if self._wfe_contexts_unused:
            return StorageDriverStoreContext(target=None)
        return super().get_external_store_context(command_info)


@dataclass(frozen=True)
class FastSandboxedWorkflowRunner(SandboxedWorkflowRunner):
    """`SandboxedWorkflowRunner` whose instances enter the sandbox more cheaply.

    Attributes:
        contexts_unused: The worker's data converter has no codec and no external storage
            (:func:`contexts_unused`), so serialization contexts are not computed.
    """

    contexts_unused: bool = False

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        """A sandboxed instance (see the module docstring for what differs)."""
        return _CompiledInstance(
            det, self.runner_class, self.restrictions, contexts_unused=self.contexts_unused
        )
