"""An engine activity module whose own import fails (for the registry tests)."""

import no_such_dependency  # type: ignore[import-not-found]  # noqa: F401
