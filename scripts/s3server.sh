#!/usr/bin/env bash
# A throwaway S3-compatible server that checks SigV4 signatures: moto's server mode with IAM
# authentication on. The first unauthenticated calls create a user, an access key and an
# allow-all inline policy; from then on every request must be signed with that key.
#   s3server.sh start DIR   -> prints "ENDPOINT ACCESS_KEY SECRET_KEY" (also in DIR/credentials)
#   s3server.sh stop DIR
set -euo pipefail
cmd=${1:?usage: s3server.sh start|stop DIR}
dir=${2:?usage: s3server.sh start|stop DIR}

case "$cmd" in
start)
  mkdir -p "$dir"
  for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true; done
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Three unauthenticated actions: CreateUser, CreateAccessKey, PutUserPolicy.
  INITIAL_NO_AUTH_ACTION_COUNT=3 MOTO_ALLOW_NONEXISTENT_REGION=true \
    nohup python3 "$(dirname "$0")/moto_server.py" -H 127.0.0.1 -p "$port" >"$dir/server.log" 2>&1 &
  echo $! > "$dir/pid"
  endpoint="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1]+'/moto-api/data.json', timeout=1)" "$endpoint" 2>/dev/null && break
    sleep 0.1
  done
  python3 - "$endpoint" "$dir/credentials" <<'PY'
import json, sys
import boto3
endpoint, out = sys.argv[1], sys.argv[2]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="pgseal")
key = iam.create_access_key(UserName="pgseal")["AccessKey"]
iam.put_user_policy(UserName="pgseal", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
line = f"{endpoint} {key['AccessKeyId']} {key['SecretAccessKey']}"
open(out, "w").write(line + "\n")
print(line)
PY
  ;;
stop)
  if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; fi
  rm -rf "$dir"
  ;;
*) echo "usage: s3server.sh start|stop DIR" >&2; exit 2 ;;
esac
