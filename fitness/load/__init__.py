"""Load runs and the ``latency-budgets`` fitness function.

``targets`` (services fitgate starts on a fresh install, or deployed ones),
``plan`` (users, spawn rate, warm-up, duration, workers, budget factor),
``running`` (locust in a child process, ``generator``, told about the target
through ``scenario_environment``), ``measurement`` (what came back),
``budgets`` (the verdict) and ``table`` (the human report). fitgate's own
process never imports locust.
"""
