# ---------------------------------------------------------------- images, as compose resolves them
# What a service runs is what compose makes of its image: line: variables interpolated from the
# environment and .env (`${VAR}`, `${VAR:-default}`, ...), digests kept. So images are read from
# compose's own `config` output, never from the file with awk; awk only finds, in the file, the
# line compose's `config --no-interpolate` says holds the expression (to edit it). Both flavours
# print canonical YAML (v1 has no JSON output): one reader for both.

# fw_ref_split REF: FW_REF_NAME, FW_REF_TAG and FW_REF_DIGEST of a resolved `name[:tag][@digest]`.
# The tag is after the last ':' of the last path component (a registry port is not a tag).
fw_ref_split() {
  local img="$1" last
  FW_REF_DIGEST="" FW_REF_TAG=""
  if [[ "$img" == *@* ]]; then FW_REF_DIGEST="${img##*@}"; img="${img%@*}"; fi
  FW_REF_NAME="$img"
  last="${img##*/}"
  if [[ "$last" == *:* ]]; then FW_REF_TAG="${last##*:}"; FW_REF_NAME="${img%:*}"; fi
}
fw_tag_of() { fw_ref_split "$1"; printf '%s' "$FW_REF_TAG"; }
fw_repo_of() { fw_ref_split "$1"; printf '%s' "$FW_REF_NAME"; }
fw_digest_of() { fw_ref_split "$1"; printf '%s' "$FW_REF_DIGEST"; }
# A reference docker can pull: a name, an optional non-empty tag, an optional sha256 digest.
fw_valid_ref() {
  fw_ref_split "$1"
  [[ "$FW_REF_NAME" =~ ^[a-zA-Z0-9][a-zA-Z0-9._:/-]*$ ]] && [[ "$FW_REF_NAME" != *//* ]] || return 1
  [[ "${1%@*}" != *: ]] || return 1
  [ -z "$FW_REF_TAG" ] || [[ "$FW_REF_TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || return 1
  [[ "$1" != *@* ]] || [[ "$FW_REF_DIGEST" =~ ^sha256:[a-f0-9]{64}$ ]]
}
# docker's familiar form of a repository (Docker Hub's docker.io/ and library/ left out).
fw_familiar() {
  local r="$1" s
  s="${r#docker.io/}"; s="${s#index.docker.io/}"
  if [ "$s" != "$r" ] || [[ "$s" != */* ]]; then s="${s#library/}"; fi
  printf '%s' "$s"
}

# Per service: the image compose resolves (FW_IMAGE) and the expression as written (FW_IMAGE_RAW).
declare -A FW_IMAGE=() FW_IMAGE_RAW=()
FW_IMAGES_KEY=""
FW_IMAGES_ERROR=""
# fw_load_images [COMPOSE_FILE [ENV_FILE]]: read both through compose (ENV_FILE instead of .env).
# Returns 1 with FW_IMAGES_ERROR when compose refuses the project. The interpolated output can hold
# env_file values (compose v2 inlines them): it stays in variables, never printed.
fw_load_images() {
  local file="${1:-$FW_COMPOSE_FILE}" envf="${2:-}" args out raw svc _ img why key
  # the cache is of these files as they are now (a rename in their place is a new inode)
  key="$file|$envf|$(stat -c '%i %Y %s' -- "$file" "${envf:-$FW_DIR/.env}" 2>/dev/null | tr '\n' ' ')"
  [ "$FW_IMAGES_KEY" = "$key" ] && return 0
  FW_IMAGE=() FW_IMAGE_RAW=() FW_IMAGES_KEY=""
  args=(--project-directory "$FW_DIR" -f "$file")
  [ -z "$envf" ] || args+=(--env-file "$envf")
  if ! out=$("${FW_COMPOSE[@]}" "${args[@]}" config 2>/dev/null) || ! raw=$("${FW_COMPOSE[@]}" "${args[@]}" config --no-interpolate 2>/dev/null); then
    why=$("${FW_COMPOSE[@]}" "${args[@]}" config 2>&1 >/dev/null | tail -n 3 | tr '\n' ' ' || true)
    FW_IMAGES_ERROR="compose cannot read $(basename "$file"): ${why:-config failed}"
    return 1
  fi
  while IFS=$'\t' read -r svc _ img; do [ -n "$svc" ] && FW_IMAGE[$svc]="${img//\$\$/\$}"; done < <(fw_image_lines <(printf '%s\n' "$out"))
  while IFS=$'\t' read -r svc _ img; do [ -n "$svc" ] && FW_IMAGE_RAW[$svc]="$img"; done < <(fw_image_lines <(printf '%s\n' "$raw"))
  for svc in "${FW_SERVICES[@]}"; do
    if [ -z "${FW_IMAGE[$svc]-}" ]; then FW_IMAGES_ERROR="service $svc has no image in $(basename "$file")"; return 1; fi
    if ! fw_valid_ref "${FW_IMAGE[$svc]}"; then
      why=$("${FW_COMPOSE[@]}" "${args[@]}" config 2>&1 >/dev/null | grep -i 'variable' | head -n 2 | tr '\n' ' ' || true)
      FW_IMAGES_ERROR="service $svc's image ${FW_IMAGE_RAW[$svc]-} resolves to '${FW_IMAGE[$svc]}', which is not an image reference${why:+ ($why)}"
      for img in $(printf '%s' "${FW_IMAGE_RAW[$svc]-}" | grep -o '\${\?[A-Za-z_][A-Za-z0-9_]*' | tr -d '${' | sort -u); do
        if ! fw_env_defines "$FW_DIR/.env" "$img" && fw_env_defines "$FW_DIR/semaphor.env" "$img"; then
          FW_IMAGES_ERROR+="; semaphor.env sets $img, but compose reads only .env for \${...} in the compose file: move it to .env"
        fi
      done
      return 1
    fi
  done
  FW_IMAGES_KEY="$key"
}
# Image of SERVICE as compose resolves it (empty when compose cannot say).
fw_pinned_image() { fw_load_images "${2:-}" >/dev/null 2>&1 || true; printf '%s' "${FW_IMAGE[$1]-}"; }

# fw_image_facts REF: one `docker image inspect` of a local image: FW_IMG_ID, FW_IMG_TAGS (RepoTags)
# and FW_IMG_DIGESTS (RepoDigests), space-separated. 1 when the store has no such image.
fw_image_facts() {
  local line
  FW_IMG_ID="" FW_IMG_TAGS="" FW_IMG_DIGESTS=""
  line=$(docker image inspect --format "$(fw_tpl '<%.Id%>|<%json .RepoTags%>|<%json .RepoDigests%>')" "$1" 2>/dev/null | head -n 1) || return 1
  [ -n "$line" ] || return 1
  IFS='|' read -r FW_IMG_ID FW_IMG_TAGS FW_IMG_DIGESTS <<<"$line"
  FW_IMG_TAGS=$(printf '%s' "$FW_IMG_TAGS" | tr -d '[]"' | tr ',' ' ')
  FW_IMG_DIGESTS=$(printf '%s' "$FW_IMG_DIGESTS" | tr -d '[]"' | tr ',' ' ')
}
# fw_release_tag_in REPO TAGS: the one release tag (FW_RE_VERSION) among TAGS (`repo:tag` items) in
# REPO; nothing when there is none or more than one.
fw_release_tag_in() {
  local repo t found=""
  repo=$(fw_familiar "$1")
  for t in $2; do
    [ "$(fw_familiar "$(fw_repo_of "$t")")" = "$repo" ] || continue
    t=$(fw_tag_of "$t")
    [[ "$t" =~ $FW_RE_VERSION ]] || continue
    if [ -n "$found" ] && [ "$found" != "$t" ]; then return 0; fi
    found="$t"
  done
  printf '%s' "$found"
}
# fw_digest_in REPO DIGESTS: the digest (sha256:…) of the `repo@digest` item of DIGESTS in REPO.
fw_digest_in() {
  local repo d
  repo=$(fw_familiar "$1")
  for d in $2; do
    if [ "$(fw_familiar "${d%@*}")" = "$repo" ]; then printf '%s' "${d##*@}"; return 0; fi
  done
  return 1
}
# The registry digest docker recorded for the local image REF in REF's repository (RepoDigests).
fw_repo_digest() { fw_image_facts "$1" && fw_digest_in "$(fw_repo_of "$1")" "$FW_IMG_DIGESTS"; }
fw_local_release_tag() { fw_image_facts "$1" && fw_release_tag_in "${2:-$(fw_repo_of "$1")}" "$FW_IMG_TAGS"; }

# Tags and repo digests of the images the containers run (fw_load_states first), one docker call.
declare -A FW_ID_TAGS=() FW_ID_DIGESTS=()
fw_load_image_ids() {
  local ids=() svc id tags digests
  for svc in "${!FW_STATE[@]}"; do id="${FW_STATE[$svc]##*|}"; [ -z "$id" ] || ids+=("$id"); done
  [ "${#ids[@]}" -gt 0 ] || return 0
  while IFS='|' read -r id tags digests; do
    [ -n "$id" ] || continue
    FW_ID_TAGS[$id]=$(printf '%s' "$tags" | tr -d '[]"' | tr ',' ' ')
    FW_ID_DIGESTS[$id]=$(printf '%s' "$digests" | tr -d '[]"' | tr ',' ' ')
  done < <(docker image inspect --format "$(fw_tpl '<%.Id%>|<%json .RepoTags%>|<%json .RepoDigests%>')" $(printf '%s\n' "${ids[@]}" | sort -u) 2>/dev/null || true)
}
# The registry digest of SERVICE's container image: its reference's, else what docker recorded.
fw_container_digest() {
  local state image id
  state=$(fw_container_state "$1")
  [ -n "$state" ] || return 0
  IFS='|' read -r _ image id <<<"$state"
  if [ -n "$(fw_digest_of "$image")" ]; then fw_digest_of "$image"; return 0; fi
  [ -n "$id" ] || return 0
  if [ -n "${FW_ID_DIGESTS[$id]+set}" ]; then fw_digest_in "$(fw_repo_of "$image")" "${FW_ID_DIGESTS[$id]}" || true
  else fw_repo_digest "$id" || true; fi
}

# The tag SERVICE is pinned to: its image's tag, or for a digest alone (`repo@sha256:…`) the release
# tag of the local image with that digest.
fw_pinned_tag() {
  local img="${FW_IMAGE[$1]-}" tag
  tag=$(fw_tag_of "$img")
  if [ -z "$tag" ] && [ -n "$(fw_digest_of "$img")" ]; then tag=$(fw_local_release_tag "$img"); fi
  printf '%s' "$tag"
}
# The release the configuration pins api-service to (its tag, or the tag of the image a digest names).
fw_pinned_version() { fw_load_images >/dev/null 2>&1 || return 0; fw_pinned_tag api-service; }
# The tag of SERVICE's container (fw_load_states first): its image reference's tag, or for a digest
# alone the release tag of the image it was created from. Empty when it has no container.
fw_container_tag() {
  local state image id tag
  state=$(fw_container_state "$1")
  [ -n "$state" ] || return 0
  IFS='|' read -r _ image id <<<"$state"
  tag=$(fw_tag_of "$image")
  if [ -z "$tag" ] && [ -n "$id" ]; then
    if [ -n "${FW_ID_TAGS[$id]+set}" ]; then tag=$(fw_release_tag_in "$(fw_repo_of "$image")" "${FW_ID_TAGS[$id]}")
    else tag=$(fw_local_release_tag "$id" "$(fw_repo_of "$image")"); fi
  fi
  printf '%s' "$tag"
}

# ---------------------------------------------------------------- where a tag comes from (pin-tags)

# fw_scan_top STR: last positions of '/', ':' and '@' outside ${...} (FW_TOP_SLASH/COLON/AT, -1: none).
fw_scan_top() {
  local s="$1" i=0 n=${#1} depth
  FW_TOP_SLASH=-1 FW_TOP_COLON=-1 FW_TOP_AT=-1
  while [ "$i" -lt "$n" ]; do
    if [ "${s:i:2}" = '${' ]; then
      depth=1 i=$((i + 2))
      while [ "$i" -lt "$n" ] && [ "$depth" -gt 0 ]; do
        case "${s:i:1}" in '{') depth=$((depth + 1)) ;; '}') depth=$((depth - 1)) ;; esac
        i=$((i + 1))
      done
      continue
    fi
    case "${s:i:1}" in /) FW_TOP_SLASH=$i ;; :) FW_TOP_COLON=$i ;; @) FW_TOP_AT=$i ;; esac
    i=$((i + 1))
  done
}
# fw_split_raw EXPR: FW_RAW_NAME, FW_RAW_TAG (+ FW_RAW_HASTAG), FW_RAW_DIGEST (+ FW_RAW_HASDIGEST)
# of an image expression as written, variables unexpanded.
fw_split_raw() {
  local body="$1"
  FW_RAW_DIGEST="" FW_RAW_HASDIGEST=0 FW_RAW_TAG="" FW_RAW_HASTAG=0
  fw_scan_top "$body"
  if [ "$FW_TOP_AT" -ge 0 ]; then FW_RAW_DIGEST="${body:FW_TOP_AT+1}"; FW_RAW_HASDIGEST=1; body="${body:0:FW_TOP_AT}"; fi
  fw_scan_top "$body"
  if [ "$FW_TOP_COLON" -gt "$FW_TOP_SLASH" ]; then FW_RAW_TAG="${body:FW_TOP_COLON+1}"; FW_RAW_HASTAG=1; body="${body:0:FW_TOP_COLON}"; fi
  FW_RAW_NAME="$body"
}
# fw_var_ref PART: PART is exactly one variable reference: FW_VAR_NAME, FW_VAR_OP ('', '-', ':-',
# '?', ':?'), FW_VAR_DEF. Returns 1 for text, 2 for anything else with a `$` in it.
fw_var_ref() {
  FW_VAR_NAME="" FW_VAR_OP="" FW_VAR_DEF=""
  if [[ "$1" =~ ^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$ ]] || [[ "$1" =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then FW_VAR_NAME="${BASH_REMATCH[1]}"; return 0; fi
  if [[ "$1" =~ ^\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])([^\$\}]*)\}$ ]]; then
    FW_VAR_NAME="${BASH_REMATCH[1]}" FW_VAR_OP="${BASH_REMATCH[2]}" FW_VAR_DEF="${BASH_REMATCH[3]}"; return 0
  fi
  [[ "$1" == *\$* ]] && return 2
  return 1
}
fw_env_defines() { [ -f "$1" ] && grep -Eq "^[[:space:]]*(export[[:space:]]+)?$2=" "$1"; }
# fw_var_place NAME OP: where compose takes NAME from, as a place fleetwave can change: FW_PLACE is
# `env-file` (.env sets it), `default` (the default in the image line) or empty with FW_PLACE_WHY.
# The process environment wins over .env for compose; fleetwave cannot change the agent's.
fw_var_place() {
  local name="$1" op="$2" envf="$FW_DIR/.env"
  FW_PLACE="" FW_PLACE_WHY=""
  if printenv "$name" >/dev/null 2>&1; then FW_PLACE_WHY="$name is set in the environment fleetwave runs in, which compose prefers over .env and fleetwave cannot change"; return 0; fi
  if fw_env_defines "$envf" "$name" && { [ -n "$(fw_env_get "$envf" "$name")" ] || [[ "$op" != :* ]]; }; then FW_PLACE=env-file; return 0; fi
  if [ "$op" = - ] || [ "$op" = :- ]; then FW_PLACE=default; return 0; fi
  FW_PLACE_WHY="$name is not set in .env"
  if fw_env_defines "$FW_DIR/semaphor.env" "$name"; then FW_PLACE_WHY+="; semaphor.env sets $name, but compose reads only .env for \${...} in the compose file: move it to .env"; fi
}

# Planned edits: per service the new expression of its image: line, per .env variable its new value.
declare -A FW_NEW_LINE=() FW_NEW_ENV=() FW_NEW_ENV_FOR=()
FW_PLAN_ERROR=""
# fw_plan_set_env NAME VALUE SERVICE: plan .env NAME=VALUE, refusing two services wanting two values.
fw_plan_set_env() {
  local cur
  cur=$(fw_env_get "$FW_DIR/.env" "$1")
  if [[ "$cur" == *\$* ]]; then FW_PLAN_ERROR="$3: $1 in .env is built from other variables ($cur); fleetwave changes only plain values"; return 1; fi
  if [ -n "${FW_NEW_ENV[$1]+set}" ] && [ "${FW_NEW_ENV[$1]}" != "$2" ]; then
    FW_PLAN_ERROR="$1 in .env is shared by ${FW_NEW_ENV_FOR[$1]} and $3, which need different values (${FW_NEW_ENV[$1]}, $2): give each service its own variable"
    return 1
  fi
  FW_NEW_ENV[$1]="$2"; FW_NEW_ENV_FOR[$1]="$3"
}
# fw_plan_var_part SERVICE PART VALUE WHAT: PART (one variable reference) should yield VALUE: plan the
# change where the variable comes from; FW_PART is the part as the line should hold it. (Never in
# $(...): the plan lives in this shell's variables.)
fw_plan_var_part() {
  local svc="$1" part="$2" value="$3" what="$4"
  fw_var_ref "$part"
  fw_var_place "$FW_VAR_NAME" "$FW_VAR_OP"
  case "$FW_PLACE" in
    env-file) fw_plan_set_env "$FW_VAR_NAME" "$value" "$svc" || return 1; FW_PART="$part" ;;
    default) FW_PART="\${$FW_VAR_NAME$FW_VAR_OP$value}" ;;
    *) FW_PLAN_ERROR="$svc: the $what in ${FW_IMAGE_RAW[$svc]} comes from \${$FW_VAR_NAME}, and $FW_PLACE_WHY"; return 1 ;;
  esac
}
# fw_plan_image SERVICE WANT: plan the edits that make compose resolve SERVICE to WANT (repo:tag@digest),
# changing the tag (and digest) where they come from. Sets FW_NEW_LINE[SERVICE] when the line changes.
fw_plan_image() {
  local svc="$1" want="$2" raw="${FW_IMAGE_RAW[$1]}" resolved="${FW_IMAGE[$1]}" tag digest name newtag newdigest rc
  fw_ref_split "$want"; tag="$FW_REF_TAG" digest="$FW_REF_DIGEST"
  fw_split_raw "$raw"
  name="$FW_RAW_NAME"
  if [ "$FW_RAW_HASTAG" = 0 ] && [ -n "$(fw_tag_of "$resolved")" ]; then
    # the tag is inside a variable of the name: only a variable holding the whole image is changed
    fw_var_ref "$name" && [ "$FW_RAW_HASDIGEST" = 0 ] || { FW_PLAN_ERROR="$svc: the tag of $raw comes from inside a variable with other text; fleetwave can change a tag written in the line, a variable that is the whole tag, or one that is the whole image"; return 1; }
    fw_var_place "$FW_VAR_NAME" "$FW_VAR_OP"
    if { [ "$FW_PLACE" = env-file ] && [ "$(fw_env_get "$FW_DIR/.env" "$FW_VAR_NAME")" != "$resolved" ]; } \
      || { [ "$FW_PLACE" = default ] && [ "$FW_VAR_DEF" != "$resolved" ]; }; then
      FW_PLAN_ERROR="$svc: compose resolves $raw to $resolved, which is not what .env or the line's default says; fleetwave cannot tell where it comes from"
      return 1
    fi
    fw_plan_var_part "$svc" "$name" "$want" image || return 1
    [ "$FW_PART" = "$raw" ] || FW_NEW_LINE[$svc]="$FW_PART"
    return 0
  fi
  if [ "$FW_RAW_HASTAG" = 1 ]; then
    rc=0; fw_var_ref "$FW_RAW_TAG" || rc=$?
    case "$rc" in
      0)
        # compose must agree with what the planned place holds today
        fw_var_place "$FW_VAR_NAME" "$FW_VAR_OP"
        if [ "$FW_PLACE" = env-file ] && [ "$(fw_env_get "$FW_DIR/.env" "$FW_VAR_NAME")" != "$(fw_tag_of "$resolved")" ] \
          || { [ "$FW_PLACE" = default ] && [ "$FW_VAR_DEF" != "$(fw_tag_of "$resolved")" ]; }; then
          FW_PLAN_ERROR="$svc: compose resolves the tag of $raw to '$(fw_tag_of "$resolved")', which is not what .env or the line's default says; fleetwave cannot tell where it comes from"
          return 1
        fi
        fw_plan_var_part "$svc" "$FW_RAW_TAG" "$tag" tag || return 1
        newtag="$FW_PART" ;;
      1) newtag="$tag" ;;
      *) FW_PLAN_ERROR="$svc: the tag in $raw mixes text and a variable; fleetwave can change a tag written in the line or a variable that is the whole tag"; return 1 ;;
    esac
  else
    newtag="$tag"
  fi
  newdigest="$digest"
  if [ "$FW_RAW_HASDIGEST" = 1 ]; then
    rc=0; fw_var_ref "$FW_RAW_DIGEST" || rc=$?
    case "$rc" in
      0) fw_plan_var_part "$svc" "$FW_RAW_DIGEST" "$digest" digest || return 1
         newdigest="$FW_PART" ;;
      1) ;;
      *) FW_PLAN_ERROR="$svc: the digest in $raw mixes text and a variable"; return 1 ;;
    esac
  fi
  local expr="$name:$newtag@$newdigest"
  [ "$expr" = "$raw" ] || FW_NEW_LINE[$svc]="$expr"
}

# fw_env_set FILE KEY VALUE: FILE with the last definition of KEY given VALUE, its quoting, `export`
# and inline comment kept (stdout).
fw_env_set() {
  FW_K="$2" FW_V="$3" awk '
    BEGIN { k = ENVIRON["FW_K"]; v = ENVIRON["FW_V"] }
    { line[NR] = $0 }
    $0 ~ "^[[:space:]]*(export[[:space:]]+)?" k "=" { last = NR }
    END {
      for (i = 1; i <= NR; i++) {
        if (i != last) { print line[i]; continue }
        l = line[i]; p = index(l, "="); pre = substr(l, 1, p); rest = substr(l, p + 1); q = substr(rest, 1, 1)
        if (q == "\"" || q == "\047") { e = index(substr(rest, 2), q); post = (e > 0) ? substr(rest, e + 2) : ""; print pre q v q post }
        else { post = ""; if (match(rest, /[ \t]+#/)) post = substr(rest, RSTART); sub(/\r$/, "", post); print pre v post }
      }
    }' "$1"
}
# fw_line_set FILE LINENO OLD NEW: FILE with the image value OLD on line LINENO replaced by NEW (stdout).
fw_line_set() {
  FW_LN="$2" FW_OLD="$3" FW_NEWV="$4" awk '
    BEGIN { ln = ENVIRON["FW_LN"] + 0; o = ENVIRON["FW_OLD"]; n = ENVIRON["FW_NEWV"] }
    NR == ln {
      p = index($0, "image:"); head = substr($0, 1, p + 5); tail = substr($0, p + 6); q = index(tail, o)
      if (p > 0 && q > 0) { print head substr(tail, 1, q - 1) n substr(tail, q + length(o)); next }
    }
    { print }' "$1"
}
# A file made in root's private dir to be renamed over TARGET: same mode and owner as TARGET.
fw_like() { chmod --reference="$1" "$2" 2>/dev/null || true; chown --reference="$1" "$2" 2>/dev/null || true; }

# ---------------------------------------------------------------- the PostgreSQL client (external mode)
# pg_dump refuses a server of a newer major than its own, and pg_restore reads only archives of
# its major or older (PostgreSQL docs, pg_dump: "cannot dump from PostgreSQL servers newer than its
# own major version"). So the client is chosen from the server's version: the host's programs when
# they are of at least the server's major, else the official postgres image of that major (the
# smallest major in the table at or above it), pinned by digest. No fit: refused, named.
# Digests: the multi-platform index of each tag, as public repositories pin them (checked in
# several independent ones; see docs/contracts.md "PostgreSQL client"). Bump tag and digest together.
declare -A FW_PG_IMAGES=(
  [13]="postgres:13.23@sha256:4689940c683801b4ab839ab3b0a0a3555a5fe425371422310944e89eca7d8068"
  [14]="postgres:14@sha256:156f0b253fd61366d5fc2107ad45955027d5612f695a8436ce20167f3fa79bff"
  [15]="postgres:15.19@sha256:9b1d34adbce1dd07ee6e94b4a2cf698884b89bd44a6c9c12f5da8f3acbfe4957"
  [16]="postgres:16@sha256:95206741a5b214807675e14165369d05b93a9cf692223b616d07cca227e74b0b"
  [17]="postgres:17@sha256:d74eeac9a635390a49bc21bd49fccd973de707e2a53a76ac49b552b8712ec46f"
  [18]="postgres:18.4@sha256:3a82e1f56c8f0f5616a11103ac3d47e632c3938698946a7ad26da0df1334744a"
)
FW_PG_NEWEST=18
FW_PG_CHOSEN=""         # "host" or the image reference, once chosen
FW_PG_SERVER=""         # the server's server_version_num
FW_PG_ERROR=""
# Major of a client program on the host (`pg_dump (PostgreSQL) 15.18 …`), empty when it has none.
fw_pg_host_major() {
  local v
  v=$("$1" --version 2>/dev/null) || return 0
  [[ "$v" =~ \(PostgreSQL\)\ ([0-9]+) ]] && printf '%s' "${BASH_REMATCH[1]}"
}
# The server's server_version_num through the host's psql, else the newest pinned image's psql
# (any psql reads it). The connection: the PG* variables if set, else DATABASE_URL of semaphor.env.
fw_pg_server_num() {
  local q='SHOW server_version_num' envs=() v
  if [ -z "${PGUSER+set}" ] && [ -z "${PGHOST+set}" ]; then
    fw_pg_env_from_url "$(fw_env_get "$FW_DIR/semaphor.env" DATABASE_URL)" || return 1
  fi
  if [ -n "$(fw_pg_host_major psql)" ]; then
    psql -X -A -t -c "$q" 2>&1
  else
    for v in "${FW_PG_VARS[@]}"; do [ -z "${!v+set}" ] || envs+=(-e "$v"); done
    docker run --rm --network host "${envs[@]}" "${FW_PG_IMAGES[$FW_PG_NEWEST]}" psql -X -A -t -c "$q" 2>&1
  fi
}
# fw_pg_choose: decide where pg_dump / pg_restore / psql run (FW_PG_CHOSEN); 1 with FW_PG_ERROR.
fw_pg_choose() {
  local out major host m
  FW_PG_CHOSEN="" FW_PG_ERROR=""
  if ! out=$(fw_pg_server_num) || ! [[ "$(printf '%s\n' "$out" | tail -n 1 | tr -d '[:space:]')" =~ ^[0-9]{5,7}$ ]]; then
    FW_PG_ERROR="could not read the PostgreSQL server's version: $(printf '%s\n' "$out" | tail -n 1)"
    return 1
  fi
  FW_PG_SERVER=$(printf '%s\n' "$out" | tail -n 1 | tr -d '[:space:]')
  major=$(( FW_PG_SERVER / 10000 ))
  host=$(fw_pg_host_major pg_dump)
  if [ -n "$host" ] && [ "$host" -ge "$major" ] && [ "$(fw_pg_host_major pg_restore)" = "$host" ] && [ "$(fw_pg_host_major psql)" = "$host" ]; then
    FW_PG_CHOSEN=host
  else
    for m in $(printf '%s\n' "${!FW_PG_IMAGES[@]}" | sort -n); do
      if [ "$m" -ge "$major" ]; then FW_PG_CHOSEN="${FW_PG_IMAGES[$m]}"; break; fi
    done
  fi
  if [ -z "$FW_PG_CHOSEN" ]; then
    FW_PG_ERROR="the PostgreSQL server is version $major; the host's pg_dump is ${host:-not installed} and fleetwave has no pinned postgres client image of major $major or newer (it has 13 to $FW_PG_NEWEST): install the PostgreSQL $major client programs (pg_dump, pg_restore, psql) on the host"
    return 1
  fi
  fw_log "PostgreSQL server $FW_PG_SERVER: client ${FW_PG_CHOSEN/host/host programs (major $host)}"
}
# pg_dump / pg_restore / psql where fw_pg_choose decided (PG* passed to a container by name, never value).
fw_pg() {
  local tool="$1"; shift
  if [ -z "$FW_PG_CHOSEN" ]; then fw_pg_choose || { fw_log "$FW_PG_ERROR"; return 1; }; fi
  if [ "$FW_PG_CHOSEN" = host ]; then
    "$tool" "$@"
  else
    local envs=() v
    for v in "${FW_PG_VARS[@]}"; do [ -z "${!v+set}" ] || envs+=(-e "$v"); done
    docker run --rm -i --network host "${envs[@]}" "$FW_PG_CHOSEN" "$tool" "$@"
  fi
}
