"""The Chalice app object, with the request it is serving kept per thread.

Chalice keeps `current_request` (and `lambda_context`) on the app object. On Lambda a container
serves one request at a time, so that is safe; `chalice local` (`make run`) serves every HTTP
request on its own thread, and two requests at once would read each other's request, caller
included. Kept per thread here, each request sees only its own.
"""
from __future__ import annotations

import threading

from chalice import Chalice


class Haven(Chalice):
    _serving = threading.local()

    @property
    def current_request(self):
        return getattr(self._serving, "request", None)

    @current_request.setter
    def current_request(self, value) -> None:
        self._serving.request = value

    @property
    def lambda_context(self):
        return getattr(self._serving, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value) -> None:
        self._serving.lambda_context = value
