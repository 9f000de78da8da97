"""Rebuild `.dvc/plots/offline.html`, DVC's plot page with vega, vega-lite and vega-embed inlined.

`dvc plots show` writes a page that loads these three libraries from a CDN, so without internet
it is blank. `.dvc/config` points `plots.html_template` at this file instead (relative to
`.dvc/`): the page of dvc_render.html.PAGE_HTML with the minified builds of exactly the
versions dvc_render's VegaRenderer asks for, each after its package's LICENSE. The template has
no `scripts` placeholder, so DVC adds no CDN tags.

    make plots-template          # or: python tools/plots_template.py [--output PATH]

Needs network (the npm registry) and the standard library only. Each tarball is checked against
the sha512 integrity pinned below, which must also be what the registry's metadata says.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import sys
import tarfile
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / ".dvc" / "plots" / "offline.html"
REGISTRY = "https://registry.npmjs.org"

# (name, version, npm `dist.integrity`): the versions of dvc_render.vega.VegaRenderer.SCRIPTS.
PACKAGES = (
    (
        "vega",
        "5.20.2",
        "sha512-qmH7aD9GGPpssVdxL1xgcdxTbQzyRUeRR16Os385ymvQhiwCYQNA6+eXUPAZDTVLfk0RXu6Jzj6kUE5jQ80EVw==",
    ),
    (
        "vega-lite",
        "5.2.0",
        "sha512-Yxcg8MvYfxHcG6BbkaKT0oVCIMIcE19UvqIsEwBmyd/7h2nzW7oRnID81T8UrY7hpDrIr6wa2JADOT2dhGNErw==",
    ),
    (
        "vega-embed",
        "6.18.2",
        "sha512-wcDyQPE4J5aiCDc3/suH5RQDvrKkjuLkhzUcbOLwEkNF8/+pp17tS0JghzEvAPNRg+5aG1/N2ydixq8Lk3dOlg==",
    ),
)

# dvc_render.html.PAGE_HTML (dvc-render 1.x) with a charset (the builds hold non-ASCII
# characters) and the libraries where DVC puts its CDN tags.
PAGE_HEAD = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC Plot</title>
    <!-- Offline DVC plot page: written by tools/plots_template.py (make plots-template), do not edit. -->
"""
PAGE_TAIL = """    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""
SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as response:
        return response.read()


def check_integrity(data: bytes, integrity: str, what: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise SystemExit(f"{what}: unexpected integrity algorithm {algorithm!r}")
    if hashlib.sha512(data).digest() != base64.b64decode(expected):
        raise SystemExit(f"{what}: sha512 does not match {integrity}")


def read_package(name: str, version: str, integrity: str) -> tuple[str, str]:
    """The package's LICENSE text and build/<name>.min.js, from its checked npm tarball."""
    meta = json.loads(fetch(f"{REGISTRY}/{name}/{version}"))
    if meta["dist"]["integrity"] != integrity:
        raise SystemExit(f"{name}@{version}: the registry says {meta['dist']['integrity']}, pinned {integrity}")
    tarball = fetch(f"{REGISTRY}/{name}/-/{name}-{version}.tgz")
    check_integrity(tarball, integrity, f"{name}-{version}.tgz")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:

        def member(path: str) -> str:
            handle = tar.extractfile(f"package/{path}")
            if handle is None:
                raise SystemExit(f"{name}@{version}: no package/{path} in the tarball")
            return handle.read().decode("utf-8")

        license_text = member("LICENSE")
        script = member(f"build/{name}.min.js")
    # The .map file is not shipped with the page: drop the comment that points at it.
    script = SOURCE_MAP.sub("", script)
    for forbidden in ("</script", "<!--"):  # would end or confuse the inline <script> element
        if forbidden in script.lower():
            raise SystemExit(f"{name}@{version}: the build contains {forbidden!r}, cannot inline it")
    if "*/" in license_text:
        raise SystemExit(f"{name}@{version}: the LICENSE contains '*/', cannot put it in a comment")
    return license_text, script


def render(packages: list[tuple[str, str, str, str]]) -> str:
    """The template from (name, version, LICENSE text, minified build) in load order."""
    parts = [PAGE_HEAD]
    for name, version, license_text, script in packages:
        notice = "\n".join(f" * {line}".rstrip() for line in license_text.strip().splitlines())
        parts.append(
            '    <script type="text/javascript">\n'
            f"/*! {name}@{version} build/{name}.min.js from the npm registry ({name}-{version}.tgz). License:\n"
            f"{notice}\n */\n"
            f"{script.strip()}\n"
            "    </script>\n"
        )
    parts.append(PAGE_TAIL)
    page = "".join(parts)
    placeholders = set(re.findall(r"\{(plot_divs|scripts|refresh_tag)\}", page))
    if page.count("{plot_divs}") != 1 or "scripts" in placeholders:
        raise SystemExit("the page must hold one plot_divs placeholder and no scripts placeholder")
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write (default {OUTPUT})")
    args = parser.parse_args(argv)
    packages = []
    for name, version, integrity in PACKAGES:
        license_text, script = read_package(name, version, integrity)
        packages.append((name, version, license_text, script))
        print(f"{name}@{version}: {len(script):,} bytes, sha512 checked", file=sys.stderr)
    page = render(packages)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(page, encoding="utf-8")
    print(f"wrote {args.output} ({len(page.encode('utf-8')):,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
