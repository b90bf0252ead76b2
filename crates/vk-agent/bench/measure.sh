#!/bin/bash
# Init-mode comparison: wall time and peak RSS of our agent vs `bao agent` on the same config
# (token_file auth, 5 templates). Starts its own `bao server -dev` on 127.0.0.1 and stops it.
# Usage: crates/vk-agent/bench/measure.sh [our-binary] [runs]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
OURS=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/agent}
RUNS=${2:-5}
BAO=${VK_BAO:-$ROOT/.tools/bin/bao}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WORK=$(mktemp -d)
"$BAO" server -dev -dev-root-token-id=root -dev-listen-address=127.0.0.1:$PORT >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
export VAULT_ADDR=http://127.0.0.1:$PORT BAO_ADDR=http://127.0.0.1:$PORT
for _ in $(seq 50); do "$BAO" status >/dev/null 2>&1 && break; sleep 0.1; done
for i in 1 2 3 4 5; do
  VAULT_TOKEN=root "$BAO" kv put secret/app$i username=user$i password=pw$i >/dev/null
done
printf root >"$WORK/token"
config() { # $1 = output dir
  mkdir -p "$1"
  cat <<HCL
exit_after_auth = true
vault { address = "$VAULT_ADDR" }
auto_auth {
  method "token_file" { config { token_file_path = "$WORK/token" } }
  sink "file" { config { path = "$1/sink" } }
}
template_config { exit_on_retry_failure = true }
HCL
  for i in 1 2 3 4 5; do
    cat <<HCL
template {
  contents = "{{ with secret \"secret/data/app$i\" }}{{ .Data.data.username }}:{{ .Data.data.password }}{{ end }}"
  destination = "$1/out$i"
}
HCL
  done
}
measure() { # $1 = name, rest = command
  local name=$1; shift
  local total_ms=0 max_rss=0
  for r in $(seq "$RUNS"); do
    local out="$WORK/$name-$r"
    config "$out" >"$out.hcl"
    local s=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$out.time" env -u VAULT_TOKEN -u BAO_TOKEN "$@" -config="$out.hcl" >"$out.log" 2>&1
    local e=$(date +%s%N)
    total_ms=$(( total_ms + (e - s) / 1000000 ))
    local rss=$(tail -1 "$out.time")
    (( rss > max_rss )) && max_rss=$rss
    [ "$(cat "$out/out5")" = "user5:pw5" ] || { echo "$name: wrong output"; cat "$out.log"; exit 1; }
  done
  echo "$name: mean wall $(( total_ms / RUNS )) ms, peak RSS ${max_rss} KiB (over $RUNS runs)"
}
measure vk-agent "$OURS"
measure bao-agent "$BAO" agent
