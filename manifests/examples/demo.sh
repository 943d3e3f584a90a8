#!/usr/bin/env bash
# The main job until the lab exists: apply the examples to an embedded datastore and list them.
# Usage: bash manifests/examples/demo.sh [DATASTORE_URL]   (default: a fresh file: store in /tmp)
set -euo pipefail
cd "$(dirname "$0")/../.."
store="${1:-file:$(mktemp -d /tmp/twill-demo.XXXXXX)/datastore.json}"
twillctl() { node dist/src/cli/main.js --datastore "$store" "$@"; }

echo "# datastore: $store"
echo "# twillctl validate -f manifests/examples/"
twillctl validate -f manifests/examples/
echo "# twillctl apply -f manifests/examples/"
twillctl apply -f manifests/examples/
for kind in ippools bgpconfigurations bgppeers profiles; do
  echo; echo "# twillctl get $kind -o wide"
  twillctl get "$kind" -o wide
done
echo; echo "# twillctl get networkpolicies -A"
twillctl get networkpolicies -A
echo; echo "# twillctl get networkpolicy backend -n zones -o yaml"
twillctl get networkpolicy backend -n zones -o yaml
