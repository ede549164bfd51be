"""The stylesheet embedded in every diagram (scoped to `.wfe-diagram`, overridable by a page)."""

from __future__ import annotations

FONT_FAMILY = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", '
    '"PingFang SC", "Microsoft YaHei", sans-serif'
)

#: Default colours per state; colour is never the only cue (titles name the state too).
STYLESHEET = f"""
.wfe-diagram {{ font-family: {FONT_FAMILY}; }}
.wfe-diagram .shape {{ fill: #ffffff; stroke: #22242a; stroke-width: 2; }}
.wfe-diagram .shape-event {{ stroke-width: 1.5; }}
.wfe-diagram .shape-end {{ stroke-width: 4; }}
.wfe-diagram .shape-inner {{ fill: none; stroke-width: 1.5; }}
.wfe-diagram .shape-call {{ stroke-width: 4; }}
.wfe-diagram .shape-subprocess {{ fill: #ffffff; fill-opacity: 0.6; }}
.wfe-diagram .shape-event-subprocess {{ stroke-dasharray: 3 3; stroke-width: 1.5; }}
.wfe-diagram .non-interrupting {{ stroke-dasharray: 4 2.5; }}
.wfe-diagram .marker-line {{ fill: none; stroke: #22242a; stroke-width: 1.5;
  stroke-linejoin: round; stroke-linecap: round; }}
.wfe-diagram .timer-face {{ fill: #ffffff; }}
.wfe-diagram .tick {{ stroke-width: 1; }}
.wfe-diagram .marker-fill {{ fill: #22242a; stroke: #22242a; stroke-width: 1; }}
.wfe-diagram .marker-inverse {{ fill: none; stroke: #ffffff; stroke-width: 1.2; }}
.wfe-diagram .marker-bold {{ fill: none; stroke: #22242a; stroke-width: 4;
  stroke-linecap: round; }}
.wfe-diagram .label {{ fill: #22242a; font-size: 12px; }}
.wfe-diagram .label-small {{ font-size: 11px; }}
.wfe-diagram .label-title {{ font-weight: 600; }}
.wfe-diagram .flow-line {{ fill: none; stroke: #4b5563; stroke-width: 1.5;
  stroke-linejoin: round; }}
.wfe-diagram .flow-label {{ fill: #374151; font-size: 11px; paint-order: stroke;
  stroke: #ffffff; stroke-width: 3px; stroke-linejoin: round; }}
.wfe-diagram .flow-slash {{ stroke: #4b5563; stroke-width: 1.5; }}
.wfe-diagram .message-flow {{ stroke-dasharray: 8 5; }}
.wfe-diagram .association {{ stroke-dasharray: 2 4; }}
.wfe-diagram .arrowhead {{ fill: #4b5563; stroke: none; }}
.wfe-diagram .arrowhead-open {{ fill: #ffffff; stroke: #4b5563; stroke-width: 1.5; }}
.wfe-diagram .arrowhead-taken {{ fill: #15803d; stroke: none; }}
.wfe-diagram .node-done > .shape {{ stroke: #15803d; fill: #dcfce7; }}
.wfe-diagram .node-active > .shape {{ stroke: #1d4ed8; fill: #dbeafe; }}
.wfe-diagram .node-waiting > .shape {{ stroke: #b45309; fill: #fef3c7; }}
.wfe-diagram .node-failed > .shape {{ stroke: #b91c1c; fill: #fee2e2; }}
.wfe-diagram .node-done > .shape-inner, .wfe-diagram .node-active > .shape-inner,
.wfe-diagram .node-waiting > .shape-inner, .wfe-diagram .node-failed > .shape-inner {{
  fill: none; }}
.wfe-diagram .node-active > .shape, .wfe-diagram .node-waiting > .shape,
.wfe-diagram .node-failed > .shape {{ stroke-width: 3; }}
.wfe-diagram .node-active > .shape-end, .wfe-diagram .node-waiting > .shape-end,
.wfe-diagram .node-failed > .shape-end {{ stroke-width: 4; }}
.wfe-diagram .node-subprocess.node-done > .shape, .wfe-diagram .node-subprocess.node-active >
.shape {{ fill-opacity: 0.35; }}
.wfe-diagram .flow-taken > .flow-line {{ stroke: #15803d; stroke-width: 2.5; }}
.wfe-diagram .flow-taken > .flow-slash {{ stroke: #15803d; }}
@media (prefers-reduced-motion: no-preference) {{
  .wfe-diagram .node-active > .shape {{ animation: wfe-pulse 1.6s ease-in-out infinite; }}
}}
@keyframes wfe-pulse {{ 50% {{ stroke-opacity: 0.45; }} }}
"""
