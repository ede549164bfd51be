"""The web portal: a static single-page app served by the REST app (no front-end build).

`mount_portal(app)` adds `GET /` (the page), `/static/...` (ES modules, CSS) and
`GET /api/v1/portal/config` (what the page needs to know about its deployment).
"""

from __future__ import annotations

from workflow_engine.api.web.portal import STATIC_DIR, mount_portal

__all__ = ["STATIC_DIR", "mount_portal"]
