#!/usr/bin/env bash
# End-to-end check of the README's Python client commands against a real rankd: builds a
# small synthetic index (tiny encoder, ~15 s in release), starts `rankd serve` on loopback with
# TLS, bearer tokens and the plaintext health listener, then runs examples/python:
# health on both ports, Rank with the token, and Rank without one (must be UNAUTHENTICATED).
#
#   scripts/smoke-python-client.sh [--bin PATH] [--plaintext]
#
# --bin: the rankd binary (default target/release/rankd). --plaintext: a server without TLS
# and auth, for binaries that predate the [tls]/[auth] sections (newer ones refuse it).
# Needs python3 and openssl; grpcio and friends are installed from
# examples/python/requirements.txt into a venv.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/rankd
plaintext=false
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --plaintext) plaintext=true; shift ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "no rankd binary at $bin (cargo build --release)"; exit 1; }
bin=$(realpath "$bin")

venv=${RANKD_CLIENT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/rankd/client-venv}
if ! cmp -s examples/python/requirements.txt "$venv/requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r examples/python/requirements.txt
  cp examples/python/requirements.txt "$venv/requirements.txt"
fi
py=$venv/bin/python

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== a small index (synthetic catalogue, tiny encoder)"
"$bin" data synth --items 500 --users 50 --events 5000 --out "$work/data" >/dev/null
"$bin" train --items "$work/data/items.csv" --interactions "$work/data/interactions.csv" \
  --out "$work/models" --encoder tiny --quiet >/dev/null 2>&1
"$bin" build-index --models "$work/models" --items "$work/data/items.csv" \
  --out "$work/index" --name catalog --quiet >/dev/null 2>&1
user=$(sed -n 2p "$work/data/interactions.csv" | cut -d, -f1)

# Free loopback ports, picked by the kernel.
read -r grpc_port health_port metrics_port < <("$py" -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

config=$work/rankd.toml
if $plaintext; then
  cat >"$config" <<TOML
[server]
listen = "127.0.0.1:$grpc_port"
metrics_listen = "127.0.0.1:$metrics_port"
index_dir = "$work/index"
[feedback]
data_dir = "$work/feedback"
TOML
  conn=(--plaintext)
  health_target=127.0.0.1:$grpc_port
else
  echo "== secrets (scripts/gen-dev-secrets.sh)"
  scripts/gen-dev-secrets.sh "$work/secrets" >/dev/null
  cat >"$config" <<TOML
[server]
listen = "127.0.0.1:$grpc_port"
health_listen = "127.0.0.1:$health_port"
metrics_listen = "127.0.0.1:$metrics_port"
index_dir = "$work/index"
[tls]
cert_file = "$work/secrets/server.crt"
key_file = "$work/secrets/server.key"
[auth]
tokens_file = "$work/secrets/tokens"
[feedback]
data_dir = "$work/feedback"
pseudonym_key_file = "$work/secrets/pseudonym.key"
TOML
  conn=(--ca "$work/secrets/ca.crt")
  health_target=127.0.0.1:$health_port
fi

echo "== rankd serve"
"$bin" serve --config "$config" >"$work/serve.log" 2>&1 &
server_pid=$!
ready=false
for _ in $(seq 1 60); do
  if "$py" examples/python/health_probe.py --target "$health_target" --plaintext \
       --service rankd.v1.Ranker >/dev/null 2>&1; then ready=true; break; fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.5
done
$ready || { echo "server did not become ready:"; tail -20 "$work/serve.log"; exit 1; }

set -x
cd examples/python
"$py" health_probe.py --target "$health_target" --plaintext --service rankd.v1.Ranker
"$py" health_probe.py --target "localhost:$grpc_port" "${conn[@]}"
"$py" health_probe.py --target "localhost:$grpc_port" "${conn[@]}" --service rankd.v1.Admin
if ! $plaintext; then
  RANKD_TOKEN=$(cat "$work/secrets/rank.token") \
    "$py" rank_client.py --target "localhost:$grpc_port" "${conn[@]}" --user "$user" --k 5
  # Roles: the admin token may call Admin.Info but not Rank (PERMISSION_DENIED).
  if out=$(RANKD_TOKEN=$(cat "$work/secrets/admin.token") "$py" rank_client.py \
      --target "localhost:$grpc_port" "${conn[@]}" --user "$user" --k 1 --info 2>&1); then
    echo "the admin token alone must not be allowed to Rank: $out"; exit 1
  fi
  grep -q PERMISSION_DENIED <<<"$out"
  if out=$("$py" rank_client.py --target "localhost:$grpc_port" "${conn[@]}" --user "$user" 2>&1)
  then
    echo "Rank without a token succeeded: $out"; exit 1
  fi
  grep -q UNAUTHENTICATED <<<"$out"
else
  "$py" rank_client.py --target "localhost:$grpc_port" "${conn[@]}" --user "$user" --k 5 --info
fi
set +x
echo "smoke-python-client: ok"
