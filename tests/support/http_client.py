"""An HTTP client for a served app (gunicorn, flask run), as a browser keeping its cookies."""

from __future__ import annotations

import http.cookiejar
import urllib.request


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 itself is the answer (an HTTPError carrying its status and Location)


def http_client() -> urllib.request.OpenerDirector:
    """A client with a cookie jar of its own (its session and CSRF cookie) that does not follow redirects."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())
