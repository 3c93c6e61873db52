#!/bin/bash
# Create a migration's target pod the way the controller does (docs: k8s-design step 2), for tests
# that drive the node side with `ferry pod-migrate` before the controller exists:
#   a copy of the source pod's spec bound to TARGET_NODE (spec.nodeName), name <source>-<5 random>,
#   no ownerReferences, every label renamed to ferry.dev/held-<label> (no ReplicaSet adopts it),
#   annotations ferry.dev/migration, ferry.dev/restore=true, ferry.dev/pod-ip, ferry.dev/source-pod.
# usage: target-pod.sh NAMESPACE SOURCE_POD TARGET_NODE [MIGRATION]   -> prints the target pod's name
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
NS=$1; SRC=$2; NODE=$3; MIG=${4:-hand-$SRC}
"$HERE/kubectl.sh" -n "$NS" get pod "$SRC" -o json | python3 -c '
import json, random, string, sys
node, mig = sys.argv[1], sys.argv[2]
p = json.load(sys.stdin)
m, spec = p["metadata"], dict(p["spec"])
if not p.get("status", {}).get("podIP"):
    sys.exit("source pod has no IP")
suffix = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
name = m["name"][:57] + "-" + suffix
spec["nodeName"] = node
for k in ("nodeSelector", "affinity"):
    spec.pop(k, None)   # the copy is bound by nodeName; the source placement rules do not apply
labels = {"ferry.dev/held-" + k: v for k, v in m.get("labels", {}).items()
          if not k.startswith("ferry.dev/held-")}
ann = {"ferry.dev/migration": mig, "ferry.dev/restore": "true",
       "ferry.dev/pod-ip": p["status"]["podIP"], "ferry.dev/source-pod": m["name"]}
t = {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": name, "namespace": m["namespace"], "labels": labels, "annotations": ann},
     "spec": spec}
json.dump(t, open("/dev/stdout", "w"))
' "$NODE" "$MIG" > "/tmp/target-pod.$$.json"
name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["name"])' "/tmp/target-pod.$$.json")
"$HERE/kubectl.sh" create -f "/tmp/target-pod.$$.json" >/dev/null
rm -f "/tmp/target-pod.$$.json"
echo "$name"
