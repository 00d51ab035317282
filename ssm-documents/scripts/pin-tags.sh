# Pin the three services to the target release by tag and digest (`repo:tag@sha256:…`), so what
# runs is immutable and recorded. The digest is the one docker recorded when pull-images pulled
# the tag. The images are read as compose resolves them, and the tag is changed where it really
# comes from: the image: line, a variable's value in .env, or the default in the line. Files are
# made in root's private dir, checked by compose (every service must resolve to exactly its pin,
# and exactly the planned lines differ), then renamed into place; nothing is written otherwise.
FW_STEP=pin-tags
FW_DEFAULT_ERROR=pin-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"
fw_param Version "$FW_RE_VERSION"

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
fw_load_images || fw_fail compose-invalid "$FW_IMAGES_ERROR"
lines=$(fw_image_lines "$FW_COMPOSE_FILE")
declare -A want=() lineno=()
previous_json="" images_json=""
for svc in "${FW_SERVICES[@]}"; do
  previous_json+="${previous_json:+,}$(fw_str "$svc"):$(fw_str_or_null "$(fw_pinned_tag "$svc")")"
  ref="$(fw_repo_of "${FW_IMAGE[$svc]}"):$P_Version"
  digest=$(fw_repo_digest "$ref") || fw_fail pin-failed "$ref is not in the local image store (no registry digest recorded): pull-images pulls it before pin-tags; compose file left unchanged"
  want[$svc]="$ref@$digest"
  images_json+="${images_json:+,}$(fw_str "$svc"):$(fw_str "${want[$svc]}")"
  [ "${FW_IMAGE[$svc]}" = "${want[$svc]}" ] && continue
  entry=$(printf '%s\n' "$lines" | awk -F '\t' -v s="$svc" '$1 == s')
  [ "$(printf '%s\n' "$entry" | sed '/^$/d' | wc -l)" -eq 1 ] || fw_fail pin-failed "expected exactly one image: line for $svc in $(basename "$FW_COMPOSE_FILE")"
  IFS=$'\t' read -r _ n literal <<<"$entry"
  [ "$literal" = "${FW_IMAGE_RAW[$svc]}" ] || fw_fail pin-failed "the image: line of $svc ($(basename "$FW_COMPOSE_FILE") line $n) is not what compose reads for it (${FW_IMAGE_RAW[$svc]}); fleetwave edits only an image: line written in the file itself"
  lineno[$svc]=$n
  fw_plan_image "$svc" "${want[$svc]}" || fw_fail pin-failed "$FW_PLAN_ERROR; compose file left unchanged"
done

body="\"version\":$(fw_str "$P_Version"),\"previousTags\":{$previous_json},\"images\":{$images_json}"
if [ "${#FW_NEW_LINE[@]}" -eq 0 ] && [ "${#FW_NEW_ENV[@]}" -eq 0 ]; then
  fw_log "all three services already pinned to $P_Version by digest"
  fw_ok "\"changed\":false,$body"
fi

fw_private_dir
tmp="$FW_PRIV/$(basename "$FW_COMPOSE_FILE")"
cat -- "$FW_COMPOSE_FILE" >"$tmp"
for svc in "${!FW_NEW_LINE[@]}"; do
  fw_line_set "$tmp" "${lineno[$svc]}" "${FW_IMAGE_RAW[$svc]}" "${FW_NEW_LINE[$svc]}" >"$tmp.next" && mv -f -- "$tmp.next" "$tmp"
done
fw_like "$FW_COMPOSE_FILE" "$tmp"
env_tmp=""
if [ "${#FW_NEW_ENV[@]}" -gt 0 ]; then
  [ ! -L "$FW_DIR/.env" ] || fw_fail pin-failed ".env is a symbolic link; fleetwave edits regular files only: replace the link with the file it points to; nothing changed"
  [ -f "$FW_DIR/.env" ] || fw_fail pin-failed "no .env in $FW_DIR; nothing changed"
  env_tmp="$FW_PRIV/.env"
  cat -- "$FW_DIR/.env" >"$env_tmp"
  for var in "${!FW_NEW_ENV[@]}"; do
    fw_env_set "$env_tmp" "$var" "${FW_NEW_ENV[$var]}" >"$env_tmp.next" && mv -f -- "$env_tmp.next" "$env_tmp"
  done
  fw_like "$FW_DIR/.env" "$env_tmp"
fi

# Exactly the planned lines differ (and the files keep their line counts).
fw_lines_differ() { awk 'NR == FNR { a[FNR] = $0; n = FNR; next } { if (!(FNR in a) || a[FNR] != $0) d++; m = FNR } END { if (n != m) print -1; else print d + 0 }' "$1" "$2"; }
planned=${#FW_NEW_LINE[@]}
[ "$(fw_lines_differ "$FW_COMPOSE_FILE" "$tmp")" = "$planned" ] || fw_fail pin-failed "rewrite changed other lines than the $planned planned image: line(s); compose file left unchanged"
if [ -n "$env_tmp" ]; then
  [ "$(fw_lines_differ "$FW_DIR/.env" "$env_tmp")" = "${#FW_NEW_ENV[@]}" ] || fw_fail pin-failed "rewrite of .env changed other lines than ${!FW_NEW_ENV[*]}; nothing changed"
fi
# compose itself must resolve every service to exactly its pin from the new files
fw_load_images "$tmp" "$env_tmp" || fw_fail compose-invalid "pinned configuration does not validate: $FW_IMAGES_ERROR; left unchanged"
for svc in "${FW_SERVICES[@]}"; do
  [ "${FW_IMAGE[$svc]}" = "${want[$svc]}" ] || fw_fail pin-failed "after the edit compose resolves $svc to ${FW_IMAGE[$svc]}, not ${want[$svc]}; nothing changed"
done

# Rename into place: the compose file, then .env; if .env cannot follow, the compose file goes back.
cp -p -- "$FW_COMPOSE_FILE" "$FW_PRIV/compose.before"
mv -f -T -- "$tmp" "$FW_COMPOSE_FILE"
if [ -n "$env_tmp" ] && ! mv -f -T -- "$env_tmp" "$FW_DIR/.env"; then
  mv -f -T -- "$FW_PRIV/compose.before" "$FW_COMPOSE_FILE"
  fw_fail pin-failed "could not put the new .env in place; compose file put back, nothing changed"
fi
vars_json=""
for var in "${!FW_NEW_ENV[@]}"; do vars_json+="${vars_json:+,}$(fw_str "$var")"; done
fw_log "pinned to $P_Version by digest: $planned image: line(s)${env_tmp:+, .env ${!FW_NEW_ENV[*]}}"
fw_ok "\"changed\":true,$body,\"linesChanged\":$planned,\"variablesChanged\":[$vars_json]"
