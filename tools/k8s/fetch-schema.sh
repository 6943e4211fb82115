#!/usr/bin/env bash
# Installs the pinned npm packages of tools/k8s/package.json (+ package-lock.json) into
# artifacts/k8s-schema (git-ignored), builds the strict Kubernetes batch/v1 Job JSON Schema from
# kubernetes-models 4.3.1 (Kubernetes 1.27.1) and checks it: the example Indexed Job must validate,
# the manifests in tools/k8s/testdata must not.
#
#   tools/k8s/fetch-schema.sh [--out DIR] [--no-check] [--force]
#
# Output (DIR defaults to <repo>/artifacts/k8s-schema):
#   DIR/job-batch-v1-strict.json             one file, local "#/definitions/..." refs (97 KB)   <- use this
#   DIR/job-batch-v1-standalone-strict.json  the same with every $ref inlined (490 KB)
#   DIR/SOURCE.txt                           package, version, licence, integrity
# The last line on stdout is the path of job-batch-v1-strict.json.
# Needs node + npm and the npm registry (first run only; later runs reuse DIR when the lock matches).
# On failure: one line "fetch-schema.sh: cannot ...: <reason>" on stderr, exit 2 (tests skip on it).
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/artifacts/k8s-schema
CHECK=1
FORCE=0
while (($#)); do
  case $1 in
    --out) OUT=$2; shift 2 ;;
    --no-check) CHECK=0; shift ;;
    --force) FORCE=1; shift ;;
    *) echo "usage: fetch-schema.sh [--out DIR] [--no-check] [--force]" >&2; exit 64 ;;
  esac
done
fail() { printf 'fetch-schema.sh: cannot %s\n' "$(printf '%s' "$*" | tr '\n' ' ')" >&2; exit 2; }

command -v node >/dev/null 2>&1 || fail "build the Job schema: node is not installed"
command -v npm >/dev/null 2>&1 || fail "build the Job schema: npm is not installed"
mkdir -p "$OUT" || fail "create $OUT"
OUT=$(cd "$OUT" && pwd)

# install (npm ci: exactly the versions of package-lock.json, integrity-checked; no install scripts)
lock_sum=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1)
if ((FORCE)) || [[ ! -d $OUT/node_modules/kubernetes-models || $(cat "$OUT/.lock-sha256" 2>/dev/null) != "$lock_sum" ]]; then
  cp "$HERE/package.json" "$HERE/package-lock.json" "$HERE/.npmrc" "$OUT/"
  if ! (cd "$OUT" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >"$OUT/npm-ci.log" 2>&1); then
    fail "install the pinned npm packages: $(grep -m1 -E 'npm (ERR|error)' "$OUT/npm-ci.log" || tail -n1 "$OUT/npm-ci.log") (log: $OUT/npm-ci.log)"
  fi
  echo "$lock_sum" >"$OUT/.lock-sha256"
fi

# build
node "$HERE/build-job-schema.cjs" "$OUT/node_modules" "$OUT/job-batch-v1-strict.json" \
  || fail "build $OUT/job-batch-v1-strict.json"
node "$HERE/build-job-schema.cjs" "$OUT/node_modules" "$OUT/job-batch-v1-standalone-strict.json" --inline \
  || fail "build $OUT/job-batch-v1-standalone-strict.json"
node -e '
  const fs = require("fs"), path = require("path");
  const lock = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const lines = ["kubernetes-models", "@kubernetes-models/apimachinery", "ajv", "yaml"].map((n) => {
    const p = lock.packages["node_modules/" + n];
    return `${n} ${p.version} licence ${p.license || "?"} integrity ${p.integrity}`;
  });
  lines.push("schema files: node_modules/kubernetes-models/_schemas/IoK8s*.js and node_modules/@kubernetes-models/apimachinery/_schemas/IoK8s*.js (Kubernetes 1.27.1 OpenAPI)");
  lines.push("entry: node_modules/kubernetes-models/_schemas/IoK8sApiBatchV1Job.js (registers io.k8s.api.batch.v1.Job and all it references)");
  fs.writeFileSync(process.argv[2], lines.join("\n") + "\n");
' "$OUT/package-lock.json" "$OUT/SOURCE.txt" || fail "write $OUT/SOURCE.txt"

# check
if ((CHECK)); then
  for schema in job-batch-v1-strict.json job-batch-v1-standalone-strict.json; do
    node "$HERE/validate-manifest.cjs" "$OUT/node_modules" "$OUT/$schema" "$HERE/example-indexed-job.yaml" >&2 \
      || fail "validate tools/k8s/example-indexed-job.yaml against $schema"
    node "$HERE/validate-manifest.cjs" "$OUT/node_modules" "$OUT/$schema" --expect-invalid "$HERE"/testdata/invalid-*.yaml >&2 \
      || fail "reject tools/k8s/testdata/invalid-*.yaml with $schema"
  done
fi
echo "$OUT/job-batch-v1-strict.json"
