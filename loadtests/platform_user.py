"""What every service's user class shares: where the service is, think time, named requests.

- A user class says which service it loads (``service = "directory"``); its
  host is then ``FITGATE_DIRECTORY_URL`` unless locust's ``--host`` overrides it.
- Think time is realistic by default; ``LOADTESTS_THINK_SCALE`` (e.g. ``0.05``)
  shortens it for quick smoke runs without changing the mix of work.
- Requests are named by their endpoint template (``GET /v1/users/{user_id}``),
  exactly the keys of the latency budgets in ``quality-attributes.yaml``. A
  request to another service (signing in at auth, onboarding a person in the
  directory) names that service and goes to its ``FITGATE_<NAME>_URL``.
- A refusal the scenario expects (a 409 ``seats_exhausted`` when every seat is
  taken) is a success: the service answered as it should.
- A user's tasks are dealt from a shuffled deck holding each task as often as
  its weight: the same mix as locust's weighted random choice, but every task
  (and so every endpoint) comes up within one round, even in a short run.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from locust import FastHttpUser, TaskSet
from locust.exception import RescheduleTask

from fitness.load.scenario_environment import service_url_variable

THINK_SCALE_VARIABLE = "LOADTESTS_THINK_SCALE"
# What a request may answer besides ``expect`` and still be right: {status: {error codes}}.
Refusals = Mapping[int, Collection[str]]
# Looks at a successful answer's body; returns what is wrong with it, or None.
BodyCheck = Callable[[Any], str | None]


def _think_scale() -> float:
    raw = os.environ.get(THINK_SCALE_VARIABLE, "1")
    try:
        scale = float(raw)
    except ValueError:
        raise ValueError(f"{THINK_SCALE_VARIABLE}={raw!r}: not a number") from None
    if scale < 0:
        raise ValueError(f"{THINK_SCALE_VARIABLE}={raw!r}: must not be negative")
    return scale


def think_time(shortest_s: float, longest_s: float) -> Callable[[Any], float]:
    """A locust ``wait_time``: a pause between tasks, uniform in the range, times the think scale."""
    scale = _think_scale()

    def wait(_user: Any) -> float:
        return random.uniform(shortest_s, longest_s) * scale

    return wait


class PlatformUser(FastHttpUser):
    """A person using one service of the platform (subclass per service, with ``service`` set).

    A FastHttpUser: on a small machine the load generator shares the cores with
    the services, and its lighter HTTP client takes less of them.
    """

    abstract = True
    service: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        service = cls.__dict__.get("service")
        if service is not None and cls.host is None:
            cls.host = os.environ.get(service_url_variable(service)) or None

    def call(
        self,
        method: str,
        template: str,
        *,
        expect: tuple[int, ...] = (200,),
        refusals: Refusals | None = None,
        check: BodyCheck | None = None,
        service: str | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: str | None = None,
        params: Mapping[str, Any] | None = None,
        **path: object,
    ) -> Any:
        """Request ``template`` filled with ``path``, named ``"METHOD template"``; return the body.

        The body is parsed when it is JSON, else returned as text (a PEM file).

        ``service`` sends it to another service than the class's own. An answer
        in ``refusals`` (a status and the ``error`` code of its body) counts as a
        success and its body is returned, so the caller can see it was refused.
        Any other status than ``expect``, or a body ``check`` finds wrong, is a
        failure in locust's statistics and ends the current task (the user
        thinks, then picks the next one).
        """
        url = template.format(**path)
        if service is not None and service != self.service:
            url = f"{service_url(service)}{url}"
        if params:
            url = f"{url}?{urlencode(params)}"
        with self.client.request(
            method,
            url,
            name=f"{method} {template}",
            headers=dict(headers or {}),
            json=json,
            data=data,
            catch_response=True,
        ) as response:
            accepted = (refusals or {}).get(response.status_code, ())
            refused = bool(accepted) and _error_code(response) in accepted
            if response.status_code not in expect and not refused:
                response.failure(f"{_describe(response)} (expected {' or '.join(map(str, expect))})")
                raise RescheduleTask()
            try:
                body = _body(response)
            except ValueError:
                response.failure(f"{response.status_code} with a JSON body that does not parse")
                raise RescheduleTask() from None
            problem = None if refused or check is None else check(body)
            if problem is not None:
                response.failure(problem)
                raise RescheduleTask()
            response.success()
            return body


def service_url(service: str) -> str:
    """The base URL of ``service``, from ``FITGATE_<NAME>_URL``."""
    variable = service_url_variable(service)
    url = os.environ.get(variable)
    if not url:
        raise RuntimeError(f"the scenario needs the {service} service: set {variable}")
    return url.rstrip("/")


def _body(response: Any) -> Any:
    if not response.content:
        return None
    media = str(response.headers.get("content-type", "")).split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return response.json()
    return response.text


def _error_code(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _describe(response: Any) -> str:
    """Status and error code only: locust groups failures by message, so no ids or request ids."""
    if not response.status_code:
        return f"no response: {getattr(response, 'error', None).__class__.__name__}"
    code = _error_code(response)
    return f"{response.status_code} {code}" if code else str(response.status_code)


class ShuffledTasks(TaskSet):
    """Tasks dealt from a shuffled deck in which each task appears as often as its weight."""

    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self._deck: list[Any] = []

    def get_next_task(self) -> Any:
        if not self._deck:
            self._deck = list(self.tasks)
            random.shuffle(self._deck)
        return self._deck.pop()
