# S3 requests signed on the host with the node's OWN role credentials (composed
# into the backup and restore documents after common.sh). No URL and no secret
# ever arrives as a command parameter: parameters name only bucket, region,
# keys and upload id; access comes from the node's role, whose policy scopes it
# to this host's own backups (lib/iam/host-access.ts).
#
# Credentials are read again before every request, so a rotated session is used
# as soon as it exists and no transfer outlives its credentials:
# 1. a hybrid-activated node: the shared credentials file that SSM Agent keeps
#    for the node's role session (AWS_SHARED_CREDENTIALS_FILE, else
#    ~/.aws/credentials; profile AWS_PROFILE, else default);
# 2. an EC2 instance: its instance profile through IMDSv2
#    (AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254).
# Requests are SigV4-signed by curl (--aws-sigv4, curl >= 7.75); the secret
# and token reach curl through a config on a file descriptor, never its argv.
# S3 endpoint: AWS_ENDPOINT_URL_S3 (path-style) when set, else
# https://<bucket>.s3.<region>.amazonaws.com (virtual-hosted).

FW_RE_BUCKET='^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'
FW_RE_REGION='^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$'
FW_RE_S3_KEY='^backups/[a-z0-9][a-z0-9-]{0,62}/[a-z0-9][a-z0-9-]{0,62}/(data\.tar\.gz|data\.pgdump|config\.tar\.gz)$'
# An upload or version id: the documents' pattern is ^[A-Za-z0-9_][A-Za-z0-9._-]{0,1023}$; the
# length is checked apart (fw_s3_id), a bound of 1023 costs bash a quarter second per match.
FW_RE_S3_ID='^[A-Za-z0-9_][A-Za-z0-9._-]*$'
fw_s3_id_length() { [ "${#1}" -le 1024 ] || fw_fail invalid-parameter "parameter $2 does not match its allowed pattern"; }
FW_S3_BUCKET=""
FW_S3_REGION=""

fw_s3_target() {
  FW_S3_BUCKET="$1"
  FW_S3_REGION="$2"
}

fw_s3_from_file() {
  local file="$1" profile="${AWS_PROFILE:-default}" section="" line k v
  [ -r "$file" ] || return 1
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%$'\r'}"
    case "$line" in
      \[*\]) section="${line#[}"; section="${section%]}"; section="${section// /}"; continue ;;
      *=*) ;;
      *) continue ;;
    esac
    [ "$section" = "$profile" ] || continue
    k="${line%%=*}"; k="${k//[[:space:]]/}"
    v="${line#*=}"; v="${v//[[:space:]]/}"
    case "$k" in
      aws_access_key_id) FW_S3_AK="$v" ;;
      aws_secret_access_key) FW_S3_SK="$v" ;;
      aws_session_token) FW_S3_TOKEN="$v" ;;
    esac
  done <"$file"
  [ -n "$FW_S3_AK" ] && [ -n "$FW_S3_SK" ]
}

fw_s3_json_field() { tr -d '\n' | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"; }

fw_s3_from_imds() {
  local imds="${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}" tok role json
  imds="${imds%/}"
  tok=$(curl -sS --fail --max-time 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/latest/api/token" 2>/dev/null) || return 1
  role=$(curl -sS --fail --max-time 2 -H "X-aws-ec2-metadata-token: $tok" "$imds/latest/meta-data/iam/security-credentials/" 2>/dev/null | head -n 1) || return 1
  [[ "$role" =~ ^[A-Za-z0-9+=,.@_-]{1,128}$ ]] || return 1
  json=$(curl -sS --fail --max-time 2 -H "X-aws-ec2-metadata-token: $tok" "$imds/latest/meta-data/iam/security-credentials/$role" 2>/dev/null) || return 1
  FW_S3_AK=$(printf '%s' "$json" | fw_s3_json_field AccessKeyId)
  FW_S3_SK=$(printf '%s' "$json" | fw_s3_json_field SecretAccessKey)
  FW_S3_TOKEN=$(printf '%s' "$json" | fw_s3_json_field Token)
  [ -n "$FW_S3_AK" ] && [ -n "$FW_S3_SK" ]
}

# Sets FW_S3_AK, FW_S3_SK, FW_S3_TOKEN from the node's role session; 1 when it has none.
fw_s3_credentials() {
  FW_S3_AK="" FW_S3_SK="" FW_S3_TOKEN=""
  fw_s3_from_file "${AWS_SHARED_CREDENTIALS_FILE:-${HOME:-/root}/.aws/credentials}" || fw_s3_from_imds || {
    FW_S3_ERROR="this node has no role credentials (no shared credentials file from SSM Agent, no EC2 instance profile)"
    return 1
  }
  # they go into a curl config line: only the characters AWS uses
  # (the token's length apart: bash compiles a bound like {0,8192} into an automaton of
  # gigabytes that takes seconds per match, and this runs before every request)
  [[ "$FW_S3_AK" =~ ^[A-Z0-9]{16,128}$ ]] && [[ "$FW_S3_SK" =~ ^[A-Za-z0-9/+=]{16,128}$ ]] \
    && [ "${#FW_S3_TOKEN}" -le 8192 ] && [[ "$FW_S3_TOKEN" =~ ^[A-Za-z0-9/+=]*$ ]] || {
    FW_S3_ERROR="the node's role credentials are malformed"
    return 1
  }
}

fw_s3_curl_config() {
  printf 'user = "%s:%s"\n' "$FW_S3_AK" "$FW_S3_SK"
  [ -z "$FW_S3_TOKEN" ] || printf 'header = "x-amz-security-token: %s"\n' "$FW_S3_TOKEN"
}

# fw_s3 METHOD KEY QUERY [curl args...]: one signed request; prints curl's output.
# QUERY is sorted by name and already encoded (curl 7.88 signs it as written).
fw_s3() {
  local method="$1" key="$2" query="$3" url
  shift 3
  fw_s3_credentials || { echo "$FW_S3_ERROR" >&2; return 1; }
  if [ -n "${AWS_ENDPOINT_URL_S3:-}" ]; then
    url="${AWS_ENDPOINT_URL_S3%/}/$FW_S3_BUCKET/$key"
  else
    url="https://$FW_S3_BUCKET.s3.$FW_S3_REGION.amazonaws.com/$key"
  fi
  [ -z "$query" ] || url="$url?$query"
  curl -sS -X "$method" --aws-sigv4 "aws:amz:$FW_S3_REGION:s3" -K <(fw_s3_curl_config) \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "$url"
}

# base64 of a file's binary SHA-256 (the x-amz-checksum-sha256 value)
fw_sha256_b64() { printf "$(sha256sum "$1" | awk '{print $1}' | sed 's/../\\x&/g')" | base64; }

# fw_s3_put FILE KEY QUERY [curl args...]: PUT with x-amz-checksum-sha256 (S3 refuses a body that
# does not match it: BadDigest). Retried up to 3 times, each with the credentials read again.
# Response headers in $FW_TMP/put.headers; FW_S3_PUT_SHA256 is the checksum sent. Returns 1 with
# the reason in $FW_TMP/upload.err.
fw_s3_put() {
  local file="$1" key="$2" query="$3" sum code try
  shift 3
  sum=$(fw_sha256_b64 "$file")
  FW_S3_PUT_SHA256="$sum" # the caller's record of what was sent, without reading the file again
  for try in 1 2 3; do
    fw_s3_credentials || { echo "$FW_S3_ERROR" >>"$FW_TMP/upload.err"; return 1; }
    code=$(fw_s3 PUT "$key" "$query" -H "x-amz-checksum-sha256: $sum" -T "$file" -D "$FW_TMP/put.headers" \
      -o "$FW_TMP/put.body" -w '%{http_code}' "$@" 2>>"$FW_TMP/upload.err") || code=000
    case "$code" in
      2??) return 0 ;;
      412) return 12 ;;
    esac
    echo "PUT $key: HTTP $code $(sed -n 's:.*<Code>\(.*\)</Code>.*:\1:p' "$FW_TMP/put.body" 2>/dev/null | head -n 1)" >>"$FW_TMP/upload.err"
    case "$code" in 4??) [ "$code" = 400 ] && grep -q 'ExpiredToken' "$FW_TMP/put.body" 2>/dev/null || return 1 ;; esac
    sleep "$try"
  done
  return 1
}

# fw_s3_get KEY VERSION_ID|-: the object (that version) to stdout. Authorization is checked when the
# request starts, so one GET streams any size.
fw_s3_get() {
  local key="$1" version="$2" query=""
  [ "$version" = - ] || query="versionId=$version"
  fw_s3 GET "$key" "$query" --fail --retry 3 2>>"$FW_TMP/download.err"
}
