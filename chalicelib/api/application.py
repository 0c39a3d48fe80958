"""The Chalice app object, with the request it is serving kept per thread.

Chalice keeps `current_request` (and `lambda_context`) on the app object. On Lambda a container
serves one request at a time, so that is safe; `chalice local` (`make run`) serves every HTTP
request on its own thread, and two requests at once would read each other's request, caller
included. Kept per thread here, each request sees only its own.
"""
from __future__ import annotations

import threading

from chalice import Chalice


_serving = threading.local()


def _per_thread(name: str) -> property:
    return property(lambda self: getattr(_serving, name, None), lambda self, value: setattr(_serving, name, value))


class Haven(Chalice):
    current_request = _per_thread("current_request")
    lambda_context = _per_thread("lambda_context")
