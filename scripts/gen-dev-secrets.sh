#!/usr/bin/env bash
# Creates everything rankd's Secrets hold, for a test cluster or a laptop: a CA, a server
# certificate for the in-cluster names, a client certificate (for mTLS), a tokens file and the
# feedback pseudonym (HMAC) key. Then prints (or, with --apply, runs) the kubectl commands
# that turn them into the Secrets deploy/k8s expects.
#
#   scripts/gen-dev-secrets.sh OUT_DIR [--namespace NS] [--dns NAME]... [--apply]
#
# Production: keep the CA key offline or use your PKI / cert-manager (a cert-manager
# Certificate writing Secret `rankd-tls` with tls.crt, tls.key and ca.crt fits as is), and
# issue tokens per calling service. Nothing this script writes belongs in git.
set -euo pipefail

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] || usage
out=$1; shift
namespace=default
apply=false
extra_dns=()
while [ $# -gt 0 ]; do
  case $1 in
    --namespace|-n) namespace=$2; shift 2 ;;
    --dns) extra_dns+=("$2"); shift 2 ;;
    --apply) apply=true; shift ;;
    *) usage ;;
  esac
done
command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }

mkdir -p "$out"
if git -C "$out" rev-parse --is-inside-work-tree >/dev/null 2>&1 && ! git -C "$out" check-ignore -q .
then
  echo "warning: $out is inside a git work tree and not ignored: keep these keys out of commits" >&2
fi
umask 077 # keys and tokens readable by the owner only
cd "$out"
days=365

# EC P-256 keys in PKCS#8 (what `openssl genpkey` writes): rustls and grpcio both read them,
# and they are small and fast to handshake.
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# The CA: basicConstraints CA:TRUE is required, or rustls/webpki refuse it as an issuer.
newkey ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=rankd dev CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt

# The server certificate. Clients verify the name they dialled against the SANs (never the
# CN), so list every name clients use: the ClusterIP Service, the headless Service (what
# client-side balancing dials), the pods' own names behind it, and loopback for
# port-forwarding and local tests.
sans="DNS:localhost,IP:127.0.0.1"
for svc in rankd rankd-headless; do
  sans+=",DNS:$svc,DNS:$svc.$namespace,DNS:$svc.$namespace.svc"
  sans+=",DNS:$svc.$namespace.svc.cluster.local"
done
sans+=",DNS:*.rankd-headless.$namespace.svc.cluster.local"
for name in "${extra_dns[@]}"; do sans+=",DNS:$name"; done
sign() { # name, subject, extendedKeyUsage, [SANs]
  local name=$1 subject=$2 eku=$3 san=${4:-} ext
  newkey "$name.key"
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr"
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$eku"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
    -days "$days" -extfile "$ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$ext"
}
sign server "/CN=rankd" serverAuth "$sans"
sign client "/CN=rankd-client" clientAuth
rm -f ca.srl

# Tokens: 32 random bytes as hex (64 visible characters; rankd wants 16+ without `#`/`;`).
# One token per calling service and role set, so a leaked one is revoked alone.
rank_token=$(openssl rand -hex 32)
admin_token=$(openssl rand -hex 32)
cat >tokens <<TOKENS
# roles          token
rank,feedback    $rank_token
admin            $admin_token
TOKENS
printf '%s\n' "$rank_token" >rank.token
printf '%s\n' "$admin_token" >admin.token

# The HMAC key behind user pseudonyms: every replica must hold the same one, or one user
# gets several pseudonyms and exports cannot be joined. Rotating it re-keys all users.
openssl rand -hex 32 >pseudonym.key

openssl verify -CAfile ca.crt server.crt client.crt >/dev/null

commands=(
  "kubectl -n $namespace create secret generic rankd-tls --type=kubernetes.io/tls --from-file=tls.crt=server.crt --from-file=tls.key=server.key --from-file=ca.crt=ca.crt"
  "kubectl -n $namespace create secret generic rankd-tokens --from-file=tokens=tokens"
  "kubectl -n $namespace create secret generic rankd-pseudonym --from-file=pseudonym.key=pseudonym.key"
)
echo "wrote $(pwd): ca.{crt,key} server.{crt,key} client.{crt,key} tokens rank.token admin.token pseudonym.key"
if $apply; then
  for c in "${commands[@]}"; do echo "+ $c"; eval "$c"; done
else
  echo "create the Secrets (from $(pwd)):"
  printf '  %s\n' "${commands[@]}"
fi
