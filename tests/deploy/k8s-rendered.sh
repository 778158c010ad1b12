#!/usr/bin/env bash
# The Kubernetes tree as kubectl renders it (`kubectl kustomize`, what `kubectl apply -k` applies):
# both the platform (k8s/) and the KEDA overlay render, pass the same checks as the source tree,
# and equal what tests/deploy/lib/kustomize-lite.mjs renders (which deploy.k8s checks where
# kubectl is missing). kubectl is not in Debian's archive: without it this test is SKIPPED (77),
# never passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if ! command -v kubectl >/dev/null 2>&1; then
  echo "SKIP: kubectl is not installed (it is not in Debian's archive: https://kubernetes.io/docs/tasks/tools/);"
  echo "      k8s/ is still checked by deploy.k8s, rendered by tests/deploy/lib/kustomize-lite.mjs."
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
kubectl version --client 2>/dev/null | head -2
kubectl kustomize "$repo/k8s" >"$out/platform.yaml"
kubectl kustomize "$repo/k8s/overlays/keda" >"$out/keda.yaml"
node "$here/k8s-check.mjs" "$out/platform.yaml" --templates "$repo/k8s"
node "$here/k8s-check.mjs" "$out/keda.yaml" --templates "$repo/k8s" --keda
node "$here/k8s-same.mjs" "$repo/k8s" "$out/platform.yaml"
node "$here/k8s-same.mjs" "$repo/k8s/overlays/keda" "$out/keda.yaml"
