"""gunicorn's settings for the portal's web processes: the Docker image, docker compose and `make bench`
all start gunicorn with ``-c python:portal.gunicorn_conf``, so what is measured is what is deployed.

Sync workers, one request at a time each, ``WEB_CONCURRENCY`` of them (default: the CPUs this process may
use, plus one). A page is mostly Python with short waits for PostgreSQL and Redis, so one worker more than
there are CPUs keeps every CPU busy while one worker waits; more workers than that only take turns on the
same CPUs and evict each other's caches. Measured with `make bench` on 2 CPUs, order list and locker
pages at 32 connections: 3 workers served 8–10 % more requests per second than 4 and 15–30 % more than 6,
with a lower p95 (bench/README.md). Threaded workers (gthread) were slower at the tail: the threads of one
process take turns holding Python's interpreter lock. Sync workers expect clients that send a request and
read the answer promptly (browsers, API clients, a load balancer); behind the Internet put a buffering
reverse proxy in front.
"""

from __future__ import annotations

import math
import os
from pathlib import Path


def _cpus(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The CPUs this process may use: those it may run on, capped by a container's CPU quota (cgroup v2
    ``cpu.max``, as ``docker --cpus`` or a Kubernetes CPU limit set it), which the first ignores."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota to honour
    return cpus


workers = int(os.environ.get("WEB_CONCURRENCY") or _cpus() + 1)
worker_class = "sync"
bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
# A request the worker has not finished in this many seconds is aborted and the worker replaced.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
