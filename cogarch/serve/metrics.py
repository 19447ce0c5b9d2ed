"""Prometheus metrics in the text exposition format (0.0.4), without a client library.

Counters and histograms keyed by label tuples, thread-safe; :meth:`Metrics.render` writes the page ``/metrics``
serves. Names: ``cogarch_turns_total{status}``, ``cogarch_tokens_total{kind}``,
``cogarch_turn_latency_seconds`` (histogram), ``cogarch_proactive_triggers_total``,
``cogarch_proactive_actions_total{acted}``, ``cogarch_http_requests_total{route,status}``,
``cogarch_rate_limited_total{key}``, ``cogarch_turns_in_flight``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

_HELP = {
    "cogarch_turns_total": ("counter", "Chat turns handled, by outcome."),
    "cogarch_tokens_total": ("counter", "LLM tokens used by chat turns, by kind (prompt, completion)."),
    "cogarch_turn_latency_seconds": ("histogram", "Wall time of successful chat turns."),
    "cogarch_proactive_triggers_total": ("counter", "Substrate triggers while idle."),
    "cogarch_proactive_actions_total": ("counter", "Proactive decisions, by whether the agent acted."),
    "cogarch_http_requests_total": ("counter", "HTTP requests, by route and status."),
    "cogarch_rate_limited_total": ("counter", "Requests refused by the rate limit, by key."),
    "cogarch_turns_in_flight": ("gauge", "Chat turns running now."),
}


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    escaped = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for v in values)
    return "{" + ",".join(f'{n}="{v}"' for n, v in zip(names, escaped, strict=True)) + "}"


class Metrics:
    """The server's metrics registry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        self._hist: dict[str, list[float]] = {}
        self._hist_sum: dict[str, float] = {}
        self._hist_count: dict[str, int] = {}
        self._gauges: dict[str, float] = {"cogarch_turns_in_flight": 0.0}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters.setdefault(name, {})
            series[key] = series.get(key, 0.0) + amount

    def gauge_add(self, name: str, amount: float) -> None:
        with self._lock:
            self._gauges[name] = self._gauges.get(name, 0.0) + amount

    def observe(self, name: str, value: float) -> None:
        with self._lock:
            buckets = self._hist.setdefault(name, [0.0] * len(LATENCY_BUCKETS))
            for i, bound in enumerate(LATENCY_BUCKETS):
                if value <= bound:
                    buckets[i] += 1
            self._hist_sum[name] = self._hist_sum.get(name, 0.0) + value
            self._hist_count[name] = self._hist_count.get(name, 0) + 1

    def value(self, name: str, **labels: str) -> float:
        """A counter's current value (0 when never incremented)."""
        with self._lock:
            return self._counters.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        """The exposition text."""
        lines: list[str] = []
        with self._lock:
            for name, (kind, help_text) in _HELP.items():
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
                if kind == "counter":
                    for key, value in sorted(self._counters.get(name, {}).items()):
                        lines.append(f"{name}{_labels([k for k, _ in key], [v for _, v in key])} {value:g}")
                elif kind == "gauge":
                    lines.append(f"{name} {self._gauges.get(name, 0.0):g}")
                else:
                    buckets = self._hist.get(name, [0.0] * len(LATENCY_BUCKETS))
                    for bound, count in zip(LATENCY_BUCKETS, buckets, strict=True):
                        lines.append(f'{name}_bucket{{le="{bound:g}"}} {count:g}')
                    lines.append(f'{name}_bucket{{le="+Inf"}} {self._hist_count.get(name, 0)}')
                    lines.append(f"{name}_sum {self._hist_sum.get(name, 0.0):.6f}")
                    lines.append(f"{name}_count {self._hist_count.get(name, 0)}")
        return "\n".join(lines) + "\n"


__all__ = ["LATENCY_BUCKETS", "Metrics"]
