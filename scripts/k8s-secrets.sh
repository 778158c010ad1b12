#!/usr/bin/env bash
# Makes ToggleMaster's Kubernetes Secrets from the templates k8s/*/secret.template.yaml and applies
# them with kubectl (after the namespaces, k8s/base). A template's values are ${VARIABLES}; each one
# is taken from the environment, or with --from-terraform from `terraform output` (the output of
# the same name in lower case: AUTH_DATABASE_URL <- auth_database_url).
#
#   scripts/k8s-secrets.sh [--from-terraform [DIR]] [--dry-run]
#
#   --from-terraform DIR  read unset variables from the Terraform state in DIR (default terraform/)
#   --dry-run             print the Secrets (values masked) instead of applying them
#   KEDA=1                also the KEDA component's Secret (k8s/components/keda-analytics)
#   KUBECTL=...           the kubectl to run (default kubectl)
#
# MASTER_KEY, SERVICE_API_KEY (and LOADTEST_API_KEY for the load test) are not Terraform's: set
# them in the environment (CI: repository secrets), e.g. SERVICE_API_KEY=tm_key_$(openssl rand -hex 32).
# The five services' Secrets are required: a missing variable stops the script before anything is
# applied. The load test's and KEDA's are applied when their variables are set, skipped otherwise.
# Values never appear on a command line: they go through files in a private temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
KUBECTL=${KUBECTL:-kubectl}
terraform_dir=""
dry_run=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --from-terraform)
      terraform_dir=terraform
      if [[ $# -gt 1 && $2 != --* ]]; then terraform_dir=$2; shift; fi ;;
    --dry-run) dry_run=true ;;
    *) echo "k8s-secrets: unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
  shift
done

templates=(k8s/*/secret.template.yaml)
optional=(k8s/load-test/secret.template.yaml)
if [[ ${KEDA:-0} == 1 ]]; then templates+=(k8s/components/keda-analytics/secret.template.yaml); optional+=(k8s/components/keda-analytics/secret.template.yaml); fi

work=$(mktemp -d)
chmod 700 "$work"
trap 'rm -rf "$work"' EXIT

# value VAR: the variable's value from the environment, else from Terraform; empty if neither.
value() {
  local var=$1
  if [[ -n ${!var:-} ]]; then printf '%s' "${!var}"; return; fi
  if [[ -n $terraform_dir ]]; then
    terraform -chdir="$terraform_dir" output -raw "${var,,}" 2>/dev/null || true
  fi
}

# Parse every template first (name, namespace, KEY=VARIABLE lines); apply nothing until all the
# required variables are known.
declare -a plan=()
missing=()
for t in "${templates[@]}"; do
  name=$(sed -n 's/^  name: *\([a-z0-9.-]*\) *$/\1/p' "$t" | sed -n 1p)
  namespace=$(sed -n 's/^  namespace: *\([a-z0-9-]*\) *$/\1/p' "$t" | sed -n 1p)
  [[ -n $name && -n $namespace ]] || { echo "k8s-secrets: $t: no metadata.name / metadata.namespace" >&2; exit 1; }
  entries=$(sed -n '/^stringData:/,$p' "$t" | tail -n +2 | grep -v '^ *#' | grep -v '^ *$' || true)
  dir=$work/$namespace.$name
  mkdir -p "$dir"
  absent=()
  while IFS= read -r line; do
    [[ -z $line ]] && continue
    if [[ ! $line =~ ^\ \ ([A-Za-z0-9_.-]+):\ \"\$\{([A-Z][A-Z0-9_]*)\}\"$ ]]; then
      echo "k8s-secrets: $t: '$line' is not KEY: \"\${VARIABLE}\"" >&2; exit 1
    fi
    key=${BASH_REMATCH[1]} var=${BASH_REMATCH[2]}
    v=$(value "$var")
    if [[ -z $v ]]; then absent+=("$var"); continue; fi
    printf '%s' "$v" >"$dir/$key"
  done <<<"$entries"
  if [[ ${#absent[@]} -gt 0 ]]; then
    if [[ " ${optional[*]} " == *" $t "* ]]; then
      echo "k8s-secrets: skipping $namespace/$name (not set: ${absent[*]})" >&2
      continue
    fi
    missing+=("${absent[@]/#/$namespace/$name: }")
    continue
  fi
  plan+=("$namespace $name $dir")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "k8s-secrets: nothing applied; these variables are not set (environment${terraform_dir:+ or terraform output in $terraform_dir}):" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi

if ! $dry_run; then "$KUBECTL" apply -k k8s/base >/dev/null; fi
for p in "${plan[@]}"; do
  read -r namespace name dir <<<"$p"
  args=()
  for f in "$dir"/*; do args+=("--from-file=$(basename "$f")=$f"); done
  if $dry_run; then
    echo "secret $namespace/$name: keys $(cd "$dir" && echo *)"
  else
    "$KUBECTL" create secret generic "$name" --namespace "$namespace" "${args[@]}" --dry-run=client -o yaml |
      "$KUBECTL" apply -f - >/dev/null
    echo "secret $namespace/$name applied"
  fi
done
