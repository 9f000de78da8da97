"""Section ``narrate``: a server URL must be http(s), never a file or another scheme urllib would open."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from traumasynth.narrate.params import NarrateParams


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "127.0.0.1:8080", "http://"])
def test_non_http_server_urls_are_refused(url):
    with pytest.raises(ValidationError, match="is not an http\\(s\\) server URL"):
        NarrateParams(backend="server", server_urls=(url,))


def test_http_and_https_urls_are_accepted():
    params = NarrateParams(backend="server", server_urls=("http://127.0.0.1:8080", "https://gpu-box:8443"))
    assert params.server_urls == ("http://127.0.0.1:8080", "https://gpu-box:8443")
