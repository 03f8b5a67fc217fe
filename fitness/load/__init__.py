"""Load runs and the ``latency-budgets`` fitness function.

``targets`` (services fitgate starts, or deployed ones), ``plan`` (users,
spawn rate, duration, workers, budget factor), ``running`` (locust in a child
process: ``generator``), ``measurement`` (what came back), ``budgets`` (the
verdict), ``table`` (the human report). fitgate's own process never imports
locust.
"""
