"""A small, faithful evaluator of CloudWatch alarms, for replaying datapoints through a stack's alarms.

It reads the alarm definitions as the stack declares them (the recorded ``MetricAlarm`` and
``CompositeAlarm`` inputs) and follows the CloudWatch user guide:

- "Evaluating an alarm": *Period* makes one datapoint per period; *Evaluation Periods* (N) is
  how many of the most recent datapoints count; *Datapoints to Alarm* (M) of them must breach
  for ALARM, else OK. Alarms are evaluated every minute over periods ending at that minute
  (any minute, not multiples of the period: "Limits ... connected data sources").
- "How alarm state is evaluated when data is missing": CloudWatch retrieves more datapoints than
  N (the *evaluation range*; the guide's example retrieves 5 for N = 3, modelled here as N + 2).
  No missing point: the most recent N count. Some missing but at least N present: the most recent
  N present count, and the missing-data setting is ignored. Fewer than N present: all present
  ones count plus as few filled-in points as needed, filled per the setting (``breaching`` or
  ``notBreaching``). ``ignore`` and ``missing`` are not modelled (refused).
- "Metric math": the functions used by the stacks (FILL with a constant, MAX of an array,
  + - * /): arithmetic treats a missing value as 0 when the other side has one; a point missing
  from every input stays missing; FILL makes every period present; division by zero drops the point.
- Composite alarms: ``ALARM("name")``, ``OK(...)``, ``INSUFFICIENT_DATA(...)``, ``TRUE``, ``FALSE``,
  ``NOT`` > ``AND`` > ``OR`` and parentheses; ALARM when the rule holds, else OK.

Datapoints carry a count (``PutMetricData`` ``Values``/``Counts``), so ``Sum`` and ``SampleCount``
are what CloudWatch computes from the job's published datums.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"
EXTRA_PERIODS = 2  # the evaluation range beyond N (the user guide's example: 5 retrieved for N = 3)
_COMPARE = {"GreaterThanThreshold": float.__gt__, "GreaterThanOrEqualToThreshold": float.__ge__,
            "LessThanThreshold": float.__lt__, "LessThanOrEqualToThreshold": float.__le__}
MetricKey = tuple[str, str, frozenset[tuple[str, str]]]


def metric_key(namespace: str, metric: str, dimensions: Mapping[str, str]) -> MetricKey:
    """CloudWatch identifies a metric by namespace, name and the exact set of dimensions."""
    return namespace, metric, frozenset(dimensions.items())


@dataclass
class MetricStore:
    """Published datapoints: per metric, (epoch seconds, value, count) sorted by time."""

    points: dict[MetricKey, list[tuple[float, float, float]]] = field(default_factory=dict)

    def put(self, key: MetricKey, at: datetime, value: float, count: float = 1.0) -> None:
        """One datum: ``count`` samples of ``value`` at ``at``."""
        bisect.insort(self.points.setdefault(key, []), (at.timestamp(), value, count))

    def times(self, key: MetricKey) -> list[float]:
        """Every datapoint time of a metric."""
        return [p[0] for p in self.points.get(key, [])]

    def stat(self, key: MetricKey, stat: str, start: float, end: float) -> float | None:
        """The statistic over ``[start, end)``, None when no datapoint falls in it."""
        rows = self.points.get(key, [])
        lo, hi = bisect.bisect_left(rows, (start,)), bisect.bisect_left(rows, (end,))
        window = rows[lo:hi]
        if not window:
            return None
        samples = sum(c for _, _, c in window)
        total = sum(v * c for _, v, c in window)
        if stat == "Sum":
            return total
        if stat == "SampleCount":
            return samples
        if stat == "Average":
            return total / samples
        if stat == "Maximum":
            return max(v for _, v, _ in window)
        if stat == "Minimum":
            return min(v for _, v, _ in window)
        raise ValueError(f"statistic {stat!r} is not modelled: expected Sum, SampleCount, Average, Maximum or Minimum")


# --- metric math -------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([a-z][A-Za-z0-9_]*)|([A-Z][A-Z_]*)|(.))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    for number, ident, func, other in _TOKEN.findall(text):
        if number:
            out.append(("num", number))
        elif ident:
            out.append(("id", ident))
        elif func:
            out.append(("func", func))
        elif other.strip():
            out.append(("op", other))
    return out


class _Math:
    """One expression evaluated for one period; ``value(id)`` gives a query's value there."""

    def __init__(self, text: str, value: Any) -> None:
        self.tokens, self.pos, self.value = _tokens(text), 0, value

    def parse(self) -> Any:
        result = self._sum()
        if self.pos != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.pos][1]!r} in metric math")
        return result

    def _peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def _take(self, want: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.pos]
        if want is not None and token[1] != want:
            raise ValueError(f"expected {want!r}, got {token[1]!r} in metric math")
        self.pos += 1
        return token

    def _sum(self) -> Any:
        left = self._product()
        while self._peek() in ("+", "-"):
            op = self._take()[1]
            left = _binary(op, left, self._product())
        return left

    def _product(self) -> Any:
        left = self._unary()
        while self._peek() in ("*", "/"):
            op = self._take()[1]
            left = _binary(op, left, self._unary())
        return left

    def _unary(self) -> Any:
        if self._peek() == "-":
            self._take()
            return _binary("*", Scalar(-1.0), self._unary())
        return self._primary()

    def _primary(self) -> Any:
        kind, text = self._take()
        if kind == "num":
            return Scalar(float(text))
        if kind == "id":
            return Point(self.value(text))
        if text == "(":
            inner = self._sum()
            self._take(")")
            return inner
        if text == "[":
            items = [self._sum()]
            while self._peek() == ",":
                self._take()
                items.append(self._sum())
            self._take("]")
            return items
        if kind == "func":
            self._take("(")
            args = [self._sum()]
            while self._peek() == ",":
                self._take()
                args.append(self._sum())
            self._take(")")
            return _function(text, args)
        raise ValueError(f"unexpected {text!r} in metric math")


@dataclass(frozen=True)
class Scalar:
    """A number (S in the user guide)."""

    v: float


@dataclass(frozen=True)
class Point:
    """One period's value of a time series (TS); None when the period has no datapoint."""

    v: float | None


def _binary(op: str, a: Any, b: Any) -> Any:
    if isinstance(a, Scalar) and isinstance(b, Scalar):
        return Scalar(_apply(op, a.v, b.v) or 0.0)
    if isinstance(a, Scalar) or isinstance(b, Scalar):
        x, y = (a.v, b.v)
        return Point(None if x is None or y is None else _apply(op, x, y))
    if a.v is None and b.v is None:
        return Point(None)  # missing from every input: the result has no point there
    return Point(_apply(op, a.v or 0.0, b.v or 0.0))  # "missing values are treated as 0"


def _apply(op: str, x: float, y: float) -> float | None:
    if op == "/":
        return None if y == 0 else x / y  # "the data point is dropped"
    return {"+": x + y, "-": x - y, "*": x * y}[op]


def _function(name: str, args: list[Any]) -> Any:
    if name == "FILL" and len(args) == 2 and isinstance(args[0], Point) and isinstance(args[1], Scalar):
        return Point(args[1].v if args[0].v is None else args[0].v)
    if name == "MAX" and len(args) == 1 and isinstance(args[0], list):
        present = [p.v for p in args[0] if p.v is not None]
        return Point(max(present) if present else None)
    raise ValueError(f"metric math function {name} with these arguments is not modelled")


# --- alarms ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MetricAlarm:
    """A metric alarm as the stack declares it (recorded ``MetricAlarm`` inputs)."""

    name: str
    inputs: Mapping[str, Any]

    @property
    def period(self) -> int:
        queries = self.inputs.get("metricQueries")
        return int(queries[0]["metric"]["period"]) if queries else int(self.inputs["period"])

    def metrics(self) -> dict[str, tuple[MetricKey, str]]:
        """Query id -> (metric, statistic); a single-metric alarm is the query ``m``."""
        if not self.inputs.get("metricQueries"):
            i = self.inputs
            return {"m": (metric_key(i["namespace"], i["metricName"], i.get("dimensions", {})), i["statistic"])}
        return {q["id"]: (metric_key(q["metric"]["namespace"], q["metric"]["metricName"],
                                     q["metric"].get("dimensions", {})), q["metric"]["stat"])
                for q in self.inputs["metricQueries"] if "metric" in q}

    def datapoint(self, store: MetricStore, start: float, end: float) -> float | None:
        """The alarm's value for the period ``[start, end)`` (the returned expression's, for math)."""
        metrics = self.metrics()
        queries = self.inputs.get("metricQueries")
        if not queries:
            key, stat = metrics["m"]
            return store.stat(key, stat, start, end)
        expressions = {q["id"]: q["expression"] for q in queries if "expression" in q}
        memo: dict[str, float | None] = {}

        def value(query_id: str) -> float | None:
            if query_id not in memo:
                if query_id in metrics:
                    key, stat = metrics[query_id]
                    memo[query_id] = store.stat(key, stat, start, end)
                else:
                    result = _Math(expressions[query_id], value).parse()
                    memo[query_id] = result.v
            return memo[query_id]

        [returned] = [q["id"] for q in queries if q.get("returnData")]
        return value(returned)

    def evaluate(self, store: MetricStore, at: float) -> str:
        """The state CloudWatch sets when it evaluates the alarm at ``at`` (epoch seconds)."""
        n = int(self.inputs["evaluationPeriods"])
        m = int(self.inputs.get("datapointsToAlarm") or n)
        missing = self.inputs.get("treatMissingData", "missing")
        if missing not in ("breaching", "notBreaching"):
            raise ValueError(f"alarm {self.name}: treatMissingData {missing!r} is not modelled")
        p = self.period
        # Most recent first: the evaluation range is N + EXTRA_PERIODS periods ending now.
        points = [self.datapoint(store, at - (k + 1) * p, at - k * p) for k in range(n + EXTRA_PERIODS)]
        present = [v for v in points if v is not None]
        compare = _COMPARE[self.inputs["comparisonOperator"]]
        threshold = float(self.inputs["threshold"])
        if len(present) >= n:
            breaching = sum(compare(float(v), threshold) for v in present[:n])
        else:
            breaching = sum(compare(float(v), threshold) for v in present)
            breaching += (n - len(present)) if missing == "breaching" else 0
        return ALARM if breaching >= m else OK


def composite_holds(rule: str, states: Mapping[str, str]) -> bool:
    """Whether a composite alarm rule holds for the alarms' current ``states`` (by name)."""
    tokens = re.findall(r'(ALARM|OK|INSUFFICIENT_DATA)\("([^"]+)"\)|(AND|OR|NOT|TRUE|FALSE)|(\(|\))', rule)
    flat = [(f, n) if f else (w or p, "") for f, n, w, p in tokens]
    pos = 0

    def chain(word: str, operand: Callable[[], bool]) -> bool:
        nonlocal pos
        value = operand()
        while pos < len(flat) and flat[pos][0] == word:
            pos += 1
            right = operand()  # evaluated before combining: no short circuit may skip tokens
            value = (value or right) if word == "OR" else (value and right)
        return value

    def expr() -> bool:
        return chain("OR", lambda: chain("AND", factor))

    def factor() -> bool:
        nonlocal pos
        word, name = flat[pos]
        pos += 1
        if word == "NOT":
            return not factor()
        if word == "(":
            inner = expr()
            pos += 1  # ")"
            return inner
        if word in ("TRUE", "FALSE"):
            return word == "TRUE"
        return states.get(name, INSUFFICIENT) == {"ALARM": ALARM, "OK": OK}.get(word, INSUFFICIENT)

    return expr()


@dataclass
class Replay:
    """Alarm states over time: each alarm's transitions as (time, state)."""

    transitions: dict[str, list[tuple[datetime, str]]]

    def alarm_intervals(self, name: str, end: datetime) -> list[tuple[datetime, datetime]]:
        """Every stretch of time ``name`` spent in ALARM (the last ends at ``end`` if still open)."""
        out, since = [], None
        for at, state in self.transitions.get(name, []):
            if state == ALARM and since is None:
                since = at
            elif state != ALARM and since is not None:
                out.append((since, at))
                since = None
        if since is not None:
            out.append((since, end))
        return out


def replay(metric_alarms: Sequence[MetricAlarm], composites: Mapping[str, str], store: MetricStore,
           start: datetime, end: datetime) -> Replay:
    """Evaluate every alarm from ``start`` to ``end`` as CloudWatch would, minute by minute.

    An alarm's state can only change at a minute when one of its datapoints enters or leaves
    one of its periods (otherwise its windows hold the same points), so each metric alarm is
    evaluated at ``start`` and at those minutes; composites whenever a child may have changed.
    """
    due = {a.name: _change_minutes(a, store, start, end) for a in metric_alarms}
    minutes = sorted({start}.union(*due.values()))
    states: dict[str, str] = {a.name: INSUFFICIENT for a in metric_alarms} | {c: INSUFFICIENT for c in composites}
    transitions: dict[str, list[tuple[datetime, str]]] = {name: [] for name in states}
    for minute in minutes:
        at = minute.timestamp()
        for alarm in metric_alarms:
            if minute == start or minute in due[alarm.name]:
                _set(states, transitions, alarm.name, alarm.evaluate(store, at), minute)
        changed = True
        while changed:  # a composite may read another composite
            changed = False
            for name, rule in composites.items():
                new = ALARM if composite_holds(rule, states) else OK
                changed |= _set(states, transitions, name, new, minute)
    return Replay(transitions)


def _set(states: dict[str, str], transitions: dict[str, list[tuple[datetime, str]]], name: str, state: str,
         at: datetime) -> bool:
    if states[name] == state:
        return False
    states[name] = state
    transitions[name].append((at, state))
    return True


def _change_minutes(alarm: MetricAlarm, store: MetricStore, start: datetime, end: datetime) -> set[datetime]:
    """Every minute in ``[start, end)`` right after one of the alarm's datapoints crosses a period edge."""
    out = set()
    n = int(alarm.inputs["evaluationPeriods"]) + EXTRA_PERIODS
    for key, _ in alarm.metrics().values():
        for t in store.times(key):
            for k in range(n + 1):
                edge = datetime.fromtimestamp(t + k * alarm.period, timezone.utc)
                minute = edge.replace(second=0, microsecond=0) + timedelta(minutes=1)
                if start <= minute < end:
                    out.add(minute)
    return out
