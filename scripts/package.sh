#!/usr/bin/env bash
# `npm run package`: the language packages jsii-pacmak generates from the built package (`npm run build` first:
# dist/, assets/ and the .jsii assembly), into dist-jsii/:
#   js/      the npm tarball
#   python/  the Python package source, and python/dist/*.whl, built here
#   java/, dotnet/, go/  the sources of the other bindings (building them needs Maven Central, NuGet and a Go
#            module proxy, which this machine cannot reach)
#
# Why the wheel is not built by jsii-pacmak itself: for its python target pacmak creates a venv and pip-installs
# its pinned build tools (setuptools~=75.3.2, build~=1.5.0, twine~=7.0.0) from PyPI, then runs `python -m build`
# and `twine check`. PyPI is unreachable here, and the local wheels have none of those versions (no twine at all).
# So pacmak generates the code (--code-only) and the wheel is built with pip's own PEP 517 front end
# (`pip wheel --no-build-isolation`), using a setuptools that can write wheels: setuptools >= 70.1, or an older
# one with the `wheel` package.
set -euo pipefail
cd "$(dirname "$0")/.."
# jsii prints a screen-wide end-of-life banner on every run under Node 20; the README's prerequisites say it once.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

if [ ! -f .jsii ] || [ ! -f dist/lib/index.js ]; then
  echo "package: run \`npm run build\` first (no .jsii or dist/lib/index.js)" >&2
  exit 1
fi

rm -rf dist-jsii
# pacmak runs `npm pack` on this package: no lifecycle scripts there, or `prepare` would rebuild everything.
npm_config_ignore_scripts=true npx --no-install jsii-pacmak --code-only --no-npmignore --outdir dist-jsii

can_build_wheels() {
  "$1" -c 'import setuptools, sys
from importlib.metadata import version
v = tuple(int(p) for p in version("setuptools").split(".")[:2])
if v < (70, 1):
    import wheel  # setuptools before 70.1 writes wheels through the wheel package
' >/dev/null 2>&1
}

python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && can_build_wheels "$candidate"; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  venv="$(mktemp -d -t cdk-ip-allowlist-wheel.XXXXXX)"
  trap 'rm -rf "$venv"' EXIT
  python3 -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install --quiet --no-input --retries 1 'setuptools>=70.1'
  python="$venv/bin/python"
fi

"$python" -m pip wheel --quiet --no-build-isolation --no-deps --retries 0 \
  --wheel-dir dist-jsii/python/dist dist-jsii/python
ls dist-jsii/js/*.tgz dist-jsii/python/dist/*.whl
