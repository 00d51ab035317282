# Pin the three services to the target tag: exactly their image: lines change,
# in a temp file that compose validates before it is renamed over the original.
FW_STEP=pin-tags
FW_DEFAULT_ERROR=pin-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"
fw_param Version "$FW_RE_VERSION"

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
lines=$(fw_image_lines "$FW_COMPOSE_FILE")
previous_json=""
edits=""
for svc in "${FW_SERVICES[@]}"; do
  entry=$(printf '%s\n' "$lines" | awk -F '\t' -v s="$svc" '$1 == s' )
  [ "$(printf '%s\n' "$entry" | sed '/^$/d' | wc -l)" -eq 1 ] || fw_fail pin-failed "expected exactly one image: line for $svc"
  IFS=$'\t' read -r _ lineno image <<<"$entry"
  tag=$(fw_tag_of "$image")
  previous_json+="${previous_json:+,}$(fw_str "$svc"):$(fw_str_or_null "$tag")"
  if [ "$tag" != "$P_Version" ]; then edits+="$lineno "; fi
done

if [ -z "$edits" ]; then
  fw_log "all three services already pinned to $P_Version"
  fw_ok "\"changed\":false,\"version\":$(fw_str "$P_Version"),\"previousTags\":{$previous_json}"
fi

fw_private_dir
tmp="$FW_PRIV/$(basename "$FW_COMPOSE_FILE")"
# Replace only the tag after the last ':' of the image value, keeping indentation, quotes and comments.
awk -v lines="$edits" -v ver="$P_Version" '
  BEGIN { n = split(lines, a, " "); for (i = 1; i <= n; i++) edit[a[i]] = 1 }
  (NR in edit) {
    if (match($0, /image:[[:space:]]*["\047]?[^"\047[:space:]#]+/)) {
      pre = substr($0, 1, RSTART - 1); val = substr($0, RSTART, RLENGTH); post = substr($0, RSTART + RLENGTH)
      slash = 0; colon = 0
      for (i = 1; i <= length(val); i++) { c = substr(val, i, 1); if (c == "/") slash = i; if (c == ":") colon = i }
      if (colon > slash && colon > 6) val = substr(val, 1, colon) ver; else val = val ":" ver
      print pre val post; next
    }
  }
  { print }' "$FW_COMPOSE_FILE" >"$tmp"
chmod --reference="$FW_COMPOSE_FILE" "$tmp" 2>/dev/null || true

# Exactly the planned lines differ, and the file still has as many lines.
changed=$(awk 'NR == FNR { a[FNR] = $0; n = FNR; next } { if (!(FNR in a) || a[FNR] != $0) d++; m = FNR } END { if (n != m) print -1; else print d + 0 }' "$FW_COMPOSE_FILE" "$tmp")
planned=$(printf '%s' "$edits" | wc -w)
[ "$changed" = "$planned" ] || fw_fail pin-failed "rewrite changed $changed lines, expected $planned; compose file left unchanged"
for svc in "${FW_SERVICES[@]}"; do
  [ "$(fw_tag_of "$(fw_pinned_image "$svc" "$tmp")")" = "$P_Version" ] || fw_fail pin-failed "could not pin $svc; compose file left unchanged"
done
if ! cfg_err=$(fw_compose_file "$tmp" config -q 2>&1); then
  fw_fail compose-invalid "pinned compose file does not validate: $(printf '%s' "$cfg_err" | head -n 3); left unchanged"
fi
mv -f -T -- "$tmp" "$FW_COMPOSE_FILE"
fw_log "pinned $planned service(s) to $P_Version"
fw_ok "\"changed\":true,\"version\":$(fw_str "$P_Version"),\"linesChanged\":$planned,\"previousTags\":{$previous_json}"
