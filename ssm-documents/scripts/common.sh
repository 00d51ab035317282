#!/usr/bin/env bash
# fleetwave host step: shared prelude. Composed before every step script into
# one runCommand; the SSM agent runs it with `sh` (dash on Debian), so re-exec
# under bash first. Parameters arrive as SSM_<Name> environment variables
# (interpolationType ENV_VAR): always quoted, never eval'd, re-validated here.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -Eeuo pipefail
umask 077
export LC_ALL=C

FW_STEP="${FW_STEP:-unknown}"
FW_DEFAULT_ERROR="${FW_DEFAULT_ERROR:-failed}"
FW_RESULT_PRINTED=0
FW_LAST_LINE=0
FW_TMP=""
FW_CLEANUP_HOOKS=()
# Images the scripts run, by digest: a tag re-pushed upstream cannot change what touches customer
# data. The tag stays for people; docker checks the digest. Bump both together.
FW_HELPER_IMAGE="busybox:1.36@sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662"
# The postgres client image is chosen per server major (images.sh, FW_PG_IMAGES).
FW_COMPOSE=()
FW_DIR=""
FW_COMPOSE_FILE=""
FW_SERVICES=(api-service data-service data-service-sidecar)

fw_log() { printf '[fleetwave %s] %s\n' "$FW_STEP" "$*" >&2; }

# Anything that may carry a credential goes through here before it is shown (stdin → stdout).
# The same rules as core/redact.ts, checked against the same corpus
# (test/fixtures/secret-shapes.json): change them together. awk, not sed, because
# the rules need a scan (last `@` of a URL token, a quoted value's end); mawk-safe:
# matching runs on tolower() of the text and cuts the original at the same places.
fw_redact() {
  awk -v q="'" '
    function ws(c) { return c == " " || c == "\t" || c == "\r" || c == "\f" || c == "\v" }
    function blanks(s, p) { while (substr(s, p, 1) == " " || substr(s, p, 1) == "\t") p++; return p }
    # scheme://user:password@ or scheme://token@ -> scheme://***@ (password to the last @ of the token).
    function userinfo(s,   out, n, j, k, at, c) {
      out = ""
      while (match(tolower(s), /[a-z][a-z0-9+.-]*:\/\//)) {
        out = out substr(s, 1, RSTART + RLENGTH - 1); s = substr(s, RSTART + RLENGTH); n = length(s)
        for (j = 1; j <= n; j++) { c = substr(s, j, 1); if (ws(c) || c == "\"" || index(":/?#@" q, c)) break }
        if (c == "@" && j > 1 && j <= n) { out = out "***@"; s = substr(s, j + 1); continue }
        if (c != ":" || j > n || match(substr(s, j + 1), /^[0-9]+[\/?#]/)) continue
        at = 0
        for (k = j + 1; k <= n; k++) { c = substr(s, k, 1); if (ws(c) || c == "\"") break; if (c == "@") at = k }
        if (at) { out = out "***@"; s = substr(s, at + 1) }
      }
      return out s
    }
    # Authorization / X-Amz-Security-Token headers: the scheme word stays, the rest of the value goes.
    function headers(s,   out, p, c, n) {
      out = ""
      while (match(tolower(s), /authorization|x-amz-security-token/)) {
        out = out substr(s, 1, RSTART + RLENGTH - 1); s = substr(s, RSTART + RLENGTH)
        p = 1; c = substr(s, 1, 1); if (c == "\"" || c == q) p++
        p = blanks(s, p); if (substr(s, p, 1) != ":") continue
        p = blanks(s, p + 1); c = substr(s, p, 1); if (c == "\"" || c == q) p++
        if (match(tolower(substr(s, p)), /^(basic|bearer|digest|negotiate|ntlm|token|aws4-hmac-sha256|aws)[ \t]+/)) p += RLENGTH
        out = out substr(s, 1, p - 1) "***"; s = substr(s, p); n = length(s)
        for (p = 1; p <= n; p++) { c = substr(s, p, 1); if (c == "\"" || c == q || c == "\r") break }
        s = substr(s, p)
      }
      return out s
    }
    # Presigned URL query parameters.
    function presigned(s,   out, n, j, c) {
      out = ""
      while (match(tolower(s), /(x-amz-signature|x-amz-credential|x-amz-security-token|signature|awsaccesskeyid)=/)) {
        out = out substr(s, 1, RSTART + RLENGTH - 1); s = substr(s, RSTART + RLENGTH); n = length(s)
        for (j = 1; j <= n; j++) { c = substr(s, j, 1); if (ws(c) || c == "&" || c == "\"" || c == q) break }
        if (j > 1) { out = out "***"; s = substr(s, j) }
      }
      return out s
    }
    # key=value, "key": value, key: value for keys naming a secret; quoted values keep their quotes.
    function keyvalues(s,   out, p, j, n, c, d, quoted, sep) {
      out = ""
      while (match(tolower(s), /[a-z0-9_.-]*(password|passwd|secret|secret_access_key|secret_key|session_token|access_token|api_key|database_url)/)) {
        out = out substr(s, 1, RSTART + RLENGTH - 1); s = substr(s, RSTART + RLENGTH)
        p = 1; quoted = 0; c = substr(s, 1, 1); if (c == "\"" || c == q) { quoted = 1; p++ }
        p = blanks(s, p); sep = substr(s, p, 1)
        if (sep != "=" && sep != ":") continue
        j = blanks(s, p + 1); if (sep == ":" && !quoted && j == p + 1) continue
        out = out substr(s, 1, j - 1); s = substr(s, j); n = length(s); c = substr(s, 1, 1)
        if (c == "\"" || c == q) {
          for (j = 2; j <= n; j++) {
            d = substr(s, j, 1)
            if (d == c) { j++; break }
            if (d == "\\" && j < n && substr(s, j + 1, 1) != "\r") { j++; continue }
            if (d == "\\" || d == "\r") break
          }
          out = out c "***" c; s = substr(s, j); continue
        }
        for (j = 1; j <= n; j++) {
          d = substr(s, j, 1)
          if (ws(d) || d == "\"" || (sep == ":" && index(q ",}]", d))) break
        }
        if (j > 1) { out = out "***"; s = substr(s, j) }
      }
      return out s
    }
    { print keyvalues(presigned(headers(userinfo($0)))) }'
}

# Everything the script prints passes through fw_redact: SSM keeps stdout and stderr (inline in
# GetCommandInvocation, whole in the S3 command output), and a tool's error tail, a log line or
# a fw_fail message can quote a credential. The originals are kept on fds FW_OUT/FW_ERR so the
# exit trap can close the pipes and wait for both filters: the result line is complete and
# last on stdout before the script's process ends.
exec {FW_OUT}>&1 {FW_ERR}>&2
exec > >(fw_redact >&"$FW_OUT")
FW_REDACT_OUT=$!
exec 2> >(fw_redact >&"$FW_ERR")
FW_REDACT_ERR=$!
fw_flush_output() {
  exec >&"$FW_OUT" 2>&"$FW_ERR"
  wait "$FW_REDACT_OUT" "$FW_REDACT_ERR" 2>/dev/null || true
}

# JSON string literal of $1: escapes, control characters dropped, secrets redacted.
fw_str() {
  local s
  s=$(printf '%s' "$1" | fw_redact | tr -d '\000-\010\013\014\016-\037')
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}
fw_bool() { if [ "$1" = true ] || [ "$1" = 1 ]; then printf true; else printf false; fi; }
# The host's clock in epoch milliseconds (GNU date; whole seconds where %N is not supported).
fw_now_ms() { local t; t=$(date +%s%3N); if [[ "$t" =~ ^[0-9]{13}$ ]]; then printf '%s' "$t"; else printf '%s000' "$(date +%s)"; fi; }
fw_num() { if [[ "$1" =~ ^[0-9]+$ ]]; then printf '%s' "$1"; else printf 0; fi; }
fw_str_or_null() { if [ -n "$1" ]; then fw_str "$1"; else printf null; fi; }

# Print the one result line (last line of stdout) and exit. $1 = body fields (JSON, may be empty).
fw_ok() {
  local body="${1:-}"
  FW_RESULT_PRINTED=1
  printf '{"step":%s,"ok":true%s}\n' "$(fw_str "$FW_STEP")" "${body:+,$body}"
  exit 0
}
# fw_fail CODE MESSAGE [BODY]
fw_fail() {
  local code="$1" msg="$2" body="${3:-}"
  FW_RESULT_PRINTED=1
  fw_log "FAILED ($code): $msg"
  printf '{"step":%s,"ok":false,"error":%s,"message":%s%s}\n' "$(fw_str "$FW_STEP")" "$(fw_str "$code")" "$(fw_str "$msg")" "${body:+,$body}"
  exit 1
}

fw_on_exit() {
  local rc=$?
  set +e
  local hook
  for hook in "${FW_CLEANUP_HOOKS[@]}"; do "$hook" >&2 2>&1; done
  if [ -n "$FW_TMP" ] && [ -d "$FW_TMP" ]; then rm -rf -- "$FW_TMP"; fi
  if [ "$FW_RESULT_PRINTED" != 1 ]; then
    # Unexpected failure: still exactly one result line, with the step's error code.
    FW_RESULT_PRINTED=1
    printf '{"step":%s,"ok":false,"error":%s,"message":%s}\n' "$(fw_str "$FW_STEP")" "$(fw_str "$FW_DEFAULT_ERROR")" \
      "$(fw_str "unexpected failure (exit $rc) near line $FW_LAST_LINE")"
    [ "$rc" = 0 ] && rc=1
  fi
  fw_flush_output
  exit "$rc"
}
trap 'FW_LAST_LINE=$LINENO' ERR
trap fw_on_exit EXIT
trap 'exit 143' TERM INT

fw_add_cleanup() { FW_CLEANUP_HOOKS+=("$1"); }

# A directory inside the compose dir that only root can write, for files about to be renamed
# into place. Scripts run as root in a folder other users may write: nothing is ever written at
# a name someone could predict and plant a link at. A file is made inside this directory, then
# rename(2) replaces the target's directory entry, so a link planted at the target is replaced,
# never written through. Same filesystem as the target, so the rename is atomic.
FW_PRIV=""
fw_private_dir() {
  [ -n "$FW_PRIV" ] && return 0
  FW_PRIV=$(mktemp -d "$FW_DIR/.fleetwave.XXXXXXXX")
  fw_add_cleanup fw_rm_private_dir
}
fw_rm_private_dir() { if [ -n "$FW_PRIV" ]; then rm -rf -- "$FW_PRIV"; fi; }
fw_tmpdir() { [ -n "$FW_TMP" ] || FW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fleetwave.XXXXXXXX"); }

# ---------------------------------------------------------------- parameters

# fw_param NAME REGEX|b64url [DEFAULT]: sets P_NAME from SSM_NAME (or DEFAULT), checked again
# against the document's allowedPattern. Never call it in $(...): a refusal must exit the script.
fw_param() {
  local name="$1" re="$2" var="SSM_$1" value
  if [ "${!var+set}" = set ]; then value="${!var}"; else value="${3-}"; fi
  if [ "$re" = b64url ]; then
    fw_is_b64url "$value" || fw_fail invalid-parameter "parameter $name does not match its allowed pattern"
  elif [ "${#value}" -gt 16384 ] || ! [[ "$value" =~ $re ]]; then
    fw_fail invalid-parameter "parameter $name does not match its allowed pattern"
  fi
  printf -v "P_$name" '%s' "$value"
}
FW_RE_COMPOSE_DIR='^(/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){1,16}$'
FW_RE_VERSION='^v?[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}(-[0-9A-Za-z]{1,20}(\.[0-9A-Za-z]{1,20}){0,3})?$'
FW_RE_COUNT='^[0-9]{1,5}$'
# The document's pattern for base64url values is ^[A-Za-z0-9_-]{20,8192}$; bash's regex
# engine compiles {20,8192} into a huge automaton (about a second per match), so
# length and alphabet are checked separately here.
fw_is_b64url() { [ "${#1}" -ge 20 ] && [ "${#1}" -le 8192 ] && [[ "$1" =~ ^[A-Za-z0-9_-]+$ ]]; }
FW_RE_SHA256='^[a-f0-9]{64}$'
FW_RE_URL='^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/%?&=+:,@-]*)?$'
FW_RE_HEALTH_URL='^https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]{0,200})?$'

# base64url (no padding) -> the presigned URL, refused unless it is a plain http(s) URL.
fw_decode_url() {
  local v="$1" pad url
  fw_is_b64url "$v" || return 1
  v=$(printf '%s' "$v" | tr '_-' '/+')
  pad=$(( (4 - ${#v} % 4) % 4 ))
  [ "$pad" -eq 3 ] && return 1
  v="$v$(printf '%*s' "$pad" '' | tr ' ' '=')"
  url=$(printf '%s' "$v" | base64 -d 2>/dev/null) || return 1
  [[ "$url" =~ $FW_RE_URL ]] || return 1
  printf '%s' "$url"
}

# ---------------------------------------------------------------- compose

fw_set_compose_dir() {
  FW_DIR="$1"
  [ -d "$FW_DIR" ] || fw_fail compose-invalid "compose dir $FW_DIR does not exist"
  local f
  for f in docker-compose.yml docker-compose.yaml compose.yaml compose.yml; do
    if [ -f "$FW_DIR/$f" ]; then FW_COMPOSE_FILE="$FW_DIR/$f"; return 0; fi
  done
  fw_fail compose-invalid "no docker-compose.yml in $FW_DIR"
}

# Either `docker compose` (v2) or `docker-compose` (v1), whichever the host has.
fw_detect_compose() {
  command -v docker >/dev/null 2>&1 || fw_fail docker-missing "docker is not installed"
  if docker compose version >/dev/null 2>&1; then
    FW_COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1 && docker-compose version >/dev/null 2>&1; then
    FW_COMPOSE=(docker-compose)
  else
    fw_fail docker-missing "neither 'docker compose' nor 'docker-compose' is available"
  fi
}
fw_compose_name() { printf '%s' "${FW_COMPOSE[*]}"; }

# fw_compose ARGS...: compose on the host's project, any file given by -f first.
fw_compose() { "${FW_COMPOSE[@]}" --project-directory "$FW_DIR" -f "$FW_COMPOSE_FILE" "$@"; }
fw_compose_file() { local file="$1"; shift; "${FW_COMPOSE[@]}" --project-directory "$FW_DIR" -f "$file" "$@"; }

# KEY's value in an env file, read as data (never sourced); quotes stripped.
fw_env_get() {
  local file="$1" key="$2" line v
  [ -f "$file" ] || return 0
  line=$(grep -E "^[[:space:]]*(export[[:space:]]+)?${key}=" "$file" | tail -n 1 || true)
  [ -n "$line" ] || return 0
  v="${line#*=}"
  v="${v%$'\r'}"
  if [[ "$v" =~ ^\"(.*)\"[[:space:]]*$ ]] || [[ "$v" =~ ^\'(.*)\'[[:space:]]*$ ]]; then v="${BASH_REMATCH[1]}"; fi
  printf '%s' "$v"
}

fw_project_name() {
  local p
  p=$(fw_env_get "$FW_DIR/.env" COMPOSE_PROJECT_NAME)
  [ -n "$p" ] || p=$(basename "$FW_DIR")
  printf '%s' "$p" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9_-'
}
fw_volume_name() { printf '%s_semaphor-data' "$(fw_project_name)"; }
fw_mode() { if [ -n "$(fw_env_get "$FW_DIR/semaphor.env" DATABASE_URL)" ]; then printf external; else printf embedded; fi; }

# "service<TAB>line<TAB>image" for every service's image: line in a compose file, or in compose's own
# canonical `config` output (images.sh reads images from that; pin-tags finds the line to edit here).
fw_image_lines() {
  awk '
    /^[^[:space:]#]/ { in_services = ($0 ~ /^services:[[:space:]]*$/); svc = ""; svc_indent = -1; prop_indent = -1; next }
    !in_services { next }
    /^[[:space:]]*(#.*)?$/ { next }
    {
      match($0, /^[[:space:]]*/); indent = RLENGTH
      line = substr($0, indent + 1)
      if (svc_indent < 0) svc_indent = indent
      if (indent <= svc_indent) {
        svc = ""; prop_indent = -1
        if (indent == svc_indent && line ~ /^[A-Za-z0-9._-]+:[[:space:]]*$/) { svc = line; sub(/:.*/, "", svc) }
        next
      }
      if (prop_indent < 0) prop_indent = indent
      if (indent == prop_indent && svc != "" && line ~ /^image:[[:space:]]*/) {
        img = line; sub(/^image:[[:space:]]*/, "", img); sub(/[[:space:]]+#.*$/, "", img); sub(/[[:space:]]*$/, "", img)
        gsub(/^["\047]|["\047]$/, "", img)
        printf "%s\t%d\t%s\n", svc, NR, img
      }
    }' "$1"
}
# fw_has WORD ITEMS...: WORD is one of ITEMS (no `printf | grep -q`: with pipefail an early grep exit fails the pipe).
fw_has() { local w="$1" x; shift; for x in "$@"; do [ "$x" = "$w" ] && return 0; done; return 1; }

# A docker --format Go template written with <% %> for double braces: SSM treats those in a
# document as parameter references, so the composed scripts never contain them.
fw_tpl() { local b='{' e='}'; printf '%s' "$1" | sed "s/<%/$b$b/g; s/%>/$e$e/g"; }

# Container state of every service, from one `ps -q` and one `docker inspect`
# (each docker call costs a process start; hosts can be slow).
declare -A FW_STATE=()
fw_load_states() {
  FW_STATE=()
  local ids=() id svc running image image_id
  while IFS= read -r id; do [[ "$id" =~ ^[0-9a-f]{12,64}$ ]] && ids+=("$id"); done < <(fw_compose ps -q 2>/dev/null || true)
  [ "${#ids[@]}" -gt 0 ] || return 0
  while IFS='|' read -r svc running image image_id; do
    [ -n "$svc" ] && FW_STATE[$svc]="$running|$image|$image_id"
  done < <(docker inspect --format "$(fw_tpl '<%index .Config.Labels "com.docker.compose.service"%>|<%.State.Running%>|<%.Config.Image%>|<%.Image%>')" "${ids[@]}" 2>/dev/null || true)
}
# "running|image|imageId" of SERVICE's container as last loaded, or nothing when it has none.
fw_container_state() { printf '%s' "${FW_STATE[$1]-}"; }

# Version in the last `Semaphor v<version>` line of the api-service log.
fw_log_version() {
  fw_compose logs --no-color --tail 2000 api-service 2>/dev/null | grep -o 'Semaphor v[0-9A-Za-z.-]*' | tail -n 1 | sed 's/^Semaphor v//' || true
}

fw_sha256_file() { sha256sum "$1" | awk '{print $1}'; }
# Content-MD5 header value (base64 of the binary digest) without xxd/openssl.
fw_content_md5() {
  local hex
  hex=$(md5sum "$1" | awk '{print $1}')
  printf "$(printf '%s' "$hex" | sed 's/../\\x&/g')" | base64
}
fw_free_bytes() { df -P -k "$1" | awk 'NR == 2 { printf "%.0f", $4 * 1024 }'; }

# PostgreSQL connection from DATABASE_URL into libpq's PG* variables, so no
# password ever sits on a command line (visible in ps) or in output.
# Percent-decoding only, as libpq decodes a connection URI: `+` stays a plus, a backslash is
# a backslash (never printf %b over the whole value).
fw_urldecode() {
  local s="$1" out="" ch
  while [[ "$s" == *%* ]]; do
    out+="${s%%\%*}"; s="${s#*%}"
    if [[ "$s" =~ ^([0-9A-Fa-f]{2}) ]]; then printf -v ch '%b' "\\x${BASH_REMATCH[1]}"; out+="$ch"; s="${s:2}"; else out+="%"; fi
  done
  printf '%s' "$out$s"
}
# DATABASE_URL → libpq's PG* variables, read as libpq reads a connection URI (PostgreSQL docs,
# "Connection Strings": postgresql://[userspec@][hostspec][/dbname][?paramspec]): bracketed
# IPv6 hosts, a percent-encoded Unix socket path, the parameters libpq has variables for.
# Variables, not `-d URL`: a command line is readable by every user of the host. A parameter
# libpq would use but fleetwave cannot pass is refused by name (FW_URL_ERROR), never dropped.
FW_URL_ERROR=""
fw_pg_env_from_url() {
  local url="$1" rest userinfo hostspec path query pair key value
  FW_URL_ERROR="DATABASE_URL is not a postgres:// or postgresql:// URL"
  [[ "$url" =~ ^postgres(ql)?:// ]] || return 1
  rest="${url#*://}"
  # the userspec ends at the last @ before the path: libpq needs @ in a password percent-encoded
  hostspec="${rest%%/*}"; path="${rest#"$hostspec"}"
  if [[ "$hostspec" == *@* ]]; then userinfo="${hostspec%@*}"; hostspec="${hostspec##*@}"; else userinfo=""; fi
  path="${path#/}"; query=""
  if [[ "$path" == *\?* ]]; then query="${path#*\?}"; path="${path%%\?*}"; fi
  if [[ "$hostspec" == *\?* ]]; then query="${hostspec#*\?}"; hostspec="${hostspec%%\?*}"; fi
  unset PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE PGSSLROOTCERT PGSSLCERT PGSSLKEY PGSSLCRL \
    PGCONNECT_TIMEOUT PGAPPNAME PGOPTIONS PGTARGETSESSIONATTRS PGGSSENCMODE PGCHANNELBINDING
  export PGUSER PGPASSWORD PGHOST PGPORT PGDATABASE
  PGUSER=$(fw_urldecode "${userinfo%%:*}")
  if [[ "$userinfo" == *:* ]]; then PGPASSWORD=$(fw_urldecode "${userinfo#*:}"); else PGPASSWORD=""; fi
  if [[ "$hostspec" =~ ^\[([0-9A-Fa-f:.]+)\](:([0-9]+))?$ ]]; then
    PGHOST="${BASH_REMATCH[1]}"; PGPORT="${BASH_REMATCH[3]:-5432}"
  elif [[ "$hostspec" == *:* ]]; then
    PGHOST=$(fw_urldecode "${hostspec%:*}"); PGPORT="${hostspec##*:}"
  else
    PGHOST=$(fw_urldecode "$hostspec"); PGPORT=5432
  fi
  [ -n "$PGHOST" ] || unset PGHOST
  PGDATABASE=$(fw_urldecode "$path")
  [ -n "$PGDATABASE" ] || unset PGDATABASE
  local IFS='&'
  for pair in $query; do
    [ -n "$pair" ] || continue
    key="${pair%%=*}"; value=$(fw_urldecode "${pair#*=}")
    case "$key" in
      host) export PGHOST="$value" ;;
      port) export PGPORT="$value" ;;
      user) export PGUSER="$value" ;;
      password) export PGPASSWORD="$value" ;;
      dbname) export PGDATABASE="$value" ;;
      sslmode) export PGSSLMODE="$value" ;;
      sslrootcert) export PGSSLROOTCERT="$value" ;;
      sslcert) export PGSSLCERT="$value" ;;
      sslkey) export PGSSLKEY="$value" ;;
      sslcrl) export PGSSLCRL="$value" ;;
      connect_timeout) export PGCONNECT_TIMEOUT="$value" ;;
      application_name) export PGAPPNAME="$value" ;;
      options) export PGOPTIONS="$value" ;;
      target_session_attrs) export PGTARGETSESSIONATTRS="$value" ;;
      gssencmode) export PGGSSENCMODE="$value" ;;
      channel_binding) export PGCHANNELBINDING="$value" ;;
      *) FW_URL_ERROR="DATABASE_URL has a parameter fleetwave does not pass to libpq: $(printf '%s' "$key" | tr -cd 'A-Za-z0-9_.-' | cut -c1-64)"; return 1 ;;
    esac
  done
  FW_URL_ERROR=""
  return 0
}
# Every PG* variable fw_pg_env_from_url may set, passed by name (never value) to a client container.
FW_PG_VARS=(PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE PGSSLROOTCERT PGSSLCERT PGSSLKEY PGSSLCRL
  PGCONNECT_TIMEOUT PGAPPNAME PGOPTIONS PGTARGETSESSIONATTRS PGGSSENCMODE PGCHANNELBINDING)
# pg_dump / pg_restore / psql: fw_pg in images.sh (the client chosen from the server's version).

# SQL dropping what the connecting role owns outside the system schemas: relations (CASCADE
# takes their dependants), then leftover types and functions. Schemas and privileges are kept.
FW_PG_DROP_OWNED=$(cat <<'SQL'
DO $fw$
DECLARE r record;
BEGIN
  FOR r IN SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE pg_get_userbyid(c.relowner) = current_user AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
  LOOP
    EXECUTE format('DROP %s IF EXISTS %I.%I CASCADE',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
      r.nspname, r.relname);
  END LOOP;
  FOR r IN SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE pg_get_userbyid(c.relowner) = current_user AND c.relkind = 'S'
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
  LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', r.nspname, r.relname);
  END LOOP;
  FOR r IN SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE pg_get_userbyid(p.proowner) = current_user
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
  LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %I.%I(%s) CASCADE', r.nspname, r.proname, r.args);
  END LOOP;
  FOR r IN SELECT n.nspname, t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE pg_get_userbyid(t.typowner) = current_user AND t.typtype IN ('e', 'd', 'c', 'r')
             AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
  LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I.%I CASCADE', r.nspname, r.typname);
  END LOOP;
END $fw$;
SQL
)

# Wait until FILE exists (written by a process substitution), up to N seconds.
fw_wait_file() { local i=0; while [ ! -f "$1" ] && [ "$i" -lt $(( ${2:-60} * 10 )) ]; do sleep 0.1; i=$((i + 1)); done; [ -f "$1" ]; }

# ---------------------------------------------------------------- step script follows
