"""`chalice local` as API Gateway routes: a greedy `{proxy+}` path matches any number of segments.

Chalice's local route matcher compares paths segment by segment and so matches `/{proxy+}` only
for one-segment paths; API Gateway matches it for any depth. Haven's catch-all (404 in the error
envelope for unknown paths, `api.routing.register_fallbacks`) needs the gateway's behaviour, so the
local stack and the tests install this before serving. Only unmatched paths are affected.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

_INSTALLED = False


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    from chalice import local

    original = local.RouteMatcher.match_route

    def match_route(self, url: str):
        try:
            return original(self, url)
        except ValueError:
            parsed = urlparse(url)
            path = parsed.path
            for route_url in self.route_urls:
                if route_url.endswith("/{proxy+}"):
                    prefix = route_url[: -len("{proxy+}")]
                    if path.startswith(prefix) and len(path) > len(prefix):
                        return local.MatchResult(route_url, {"proxy": path[len(prefix):]},
                                                 parse_qs(parsed.query, keep_blank_values=True))
            raise

    local.RouteMatcher.match_route = match_route
    _INSTALLED = True


def main() -> int:
    """`python -m infra.chalice_greedy local ...`: the chalice CLI with the matcher installed."""
    import sys

    from chalice.cli import main as chalice_main

    install()
    sys.argv = ["chalice", *sys.argv[1:]]
    return chalice_main()


if __name__ == "__main__":
    raise SystemExit(main())
