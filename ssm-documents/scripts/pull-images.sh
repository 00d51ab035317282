# Pull the three images at the target tag. The compose file is not touched,
# so a failed pull leaves the host exactly as it was.
FW_STEP=pull-images
FW_DEFAULT_ERROR=pull-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"
fw_param Version "$FW_RE_VERSION"

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
images=()
for svc in "${FW_SERVICES[@]}"; do
  current=$(fw_pinned_image "$svc")
  [ -n "$current" ] || fw_fail compose-invalid "service $svc has no image: line"
  image="$(fw_repo_of "$current"):$P_Version"
  fw_log "pulling $image"
  if ! out=$(docker pull "$image" 2>&1); then
    fw_fail pull-failed "could not pull $image: $(printf '%s' "$out" | tail -n 2)"
  fi
  printf '%s\n' "$out" >&2
  images+=("$image")
done
ids=$(docker image inspect --format "$(fw_tpl '<%.Id%>')" "${images[@]}") || fw_fail pull-failed "pulled images are not in the local image store"
images_json=""
i=0
while IFS= read -r id; do
  svc="${FW_SERVICES[$i]}"
  images_json+="${images_json:+,}$(fw_str "$svc"):{\"image\":$(fw_str "${images[$i]}"),\"digest\":$(fw_str_or_null "$id")}"
  i=$((i + 1))
done <<<"$ids"
[ "$i" -eq 3 ] || fw_fail pull-failed "expected 3 pulled images, found $i"
fw_ok "\"version\":$(fw_str "$P_Version"),\"images\":{$images_json}"
