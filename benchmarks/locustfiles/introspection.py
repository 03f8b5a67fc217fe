"""Locust users for ``benchmarks/introspection_throughput.py``: one endpoint, as fast as it answers.

``FITGATE_BENCH_TARGET`` picks the endpoint: ``healthz`` (no database, no crypto:
the app's floor) or ``introspect`` (``POST /v1/token/introspect`` of
``FITGATE_BENCH_TOKEN``, authenticated with ``FITGATE_BENCH_CALLER``). Users
send their next request as soon as the last one is answered (no wait time), so
the rate measured is what the service sustains. Only the status is checked per
request (a non-2xx is a failure); the benchmark checks before and after each run
that the token introspects as active, so the generator spends its CPU on load.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, task


class IntrospectionBenchmarkUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.target = os.environ["FITGATE_BENCH_TARGET"]
        self.form = f"token={os.environ.get('FITGATE_BENCH_TOKEN', '')}"
        self.headers = {
            "Authorization": f"Bearer {os.environ.get('FITGATE_BENCH_CALLER', '')}",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    @task
    def call(self) -> None:
        if self.target == "healthz":
            self.client.get("/healthz", name="GET /healthz")
        else:
            self.client.post(
                "/v1/token/introspect", data=self.form, headers=self.headers, name="POST /v1/token/introspect"
            )
