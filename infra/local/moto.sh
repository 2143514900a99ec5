# Local AWS emulator for tests: `source infra/local/moto.sh; start_moto VENV` starts moto server on a
# free loopback port, exports the AWS_* variables that point the SDKs (Rust, boto3, object_store)
# at it, and stops it when the calling shell exits.
start_moto() {
  local venv=$1 port
  port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  MOTO_LOG=$(mktemp)
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" > "$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  trap 'kill "$MOTO_PID" 2>/dev/null || true; rm -f "$MOTO_LOG"' EXIT
  "$venv/bin/python" - "$port" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/moto-api/"
for _ in range(300):
    try:
        urllib.request.urlopen(url, timeout=1); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit("moto did not start")
PY
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ALLOW_HTTP=true AWS_EC2_METADATA_DISABLED=true
  # moto loads each service's backend on its first request, which can outlast a client's timeout on
  # a busy machine: load the ones the tests use now.
  "$venv/bin/python" -c 'import boto3; boto3.client("dynamodb").list_tables(); boto3.client("s3").list_buckets()'
  echo "moto on $AWS_ENDPOINT_URL"
}
