#!/bin/bash
# The broker's TLS certificate, signed by a CA of your own, for docker-compose.yml (run once,
# from the repository root: infra/kafka/make-certs.sh). Writes infra/kafka/certs/:
#   ca.crt      the CA: every client trusts it (DISTILLERY_KAFKA_SSL_CAFILE)
#   ca.key      the CA's key: keep it off the servers
#   broker.pem  the broker's private key and certificate chain (ssl.keystore.type=PEM)
# Bring your organisation's CA instead by putting its ca.crt and a broker.pem it signed there.
set -euo pipefail
DIR="$(cd "$(dirname "$0")" && pwd)/certs"
mkdir -p "$DIR"
cd "$DIR"
[ -f ca.key ] || openssl req -x509 -newkey rsa:3072 -nodes -days 825 -subj "/CN=distillery-kafka-ca" \
  -keyout ca.key -out ca.crt
openssl req -newkey rsa:3072 -nodes -subj "/CN=kafka" -keyout broker.key -out broker.csr
printf 'subjectAltName=DNS:kafka,DNS:localhost\nextendedKeyUsage=serverAuth\n' > broker.ext
openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile broker.ext \
  -out broker.crt
cat broker.key broker.crt ca.crt > broker.pem
rm -f broker.csr broker.ext broker.key broker.crt
chmod 600 ca.key
chmod 644 broker.pem ca.crt  # the broker runs as its image's own user; keep the host directory private
echo "wrote $DIR/ca.crt and $DIR/broker.pem"
