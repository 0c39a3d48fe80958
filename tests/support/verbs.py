"""`get`/`post`/`put`/`delete` over a `call(method, path, user, body, **kw)`, for the test API clients."""


class Verbs:
    def call(self, method, path, user=None, body=None, **kw):  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    def get(self, path, user=None, **kw):
        return self.call("GET", path, user, **kw)

    def post(self, path, user=None, body=None, **kw):
        return self.call("POST", path, user, body, **kw)

    def put(self, path, user=None, body=None, **kw):
        return self.call("PUT", path, user, body, **kw)

    def patch(self, path, user=None, body=None, **kw):
        return self.call("PATCH", path, user, body, **kw)

    def delete(self, path, user=None, **kw):
        return self.call("DELETE", path, user, **kw)
