# Helpers bench/run and bench/ab share; they expect $work, $ADMIN, $THREADS, $CONNECTIONS,
# $DURATION and a pids array.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
# Polls /healthz with bash's own /dev/tcp: no process spawned per probe, so the start-up time
# measured is Cardinal's, not curl's. Tightly at first, then every 50 ms, for up to 2 minutes.
wait_healthy() {
  local tries=0 deadline=$((SECONDS + 120))
  while ((SECONDS < deadline)); do
    tries=$((tries + 1))
    ((tries < 20000)) || sleep 0.05
    if { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then
      printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3
      local status=""
      read -r _ status _ <&3 || true
      exec 3<&- 3>&-
      [ "$status" = "200" ] && return 0
    fi
  done
  return 1
}

# Starts `<binary> serve` on a database (more flags after it); sets PID and PORT (and
# STARTED_NS, just before exec).
serve() {
  PORT="$(free_port)"
  STARTED_NS=$(date +%s%N)
  CARDINAL_LOG="info,cardinal_store_sqlite=debug" \
    "$1" serve --bind "127.0.0.1:$PORT" --database "sqlite://$2" --rate-limits off --admin-token "$ADMIN" \
    --log-format json "${@:3}" >"$work/serve-$PORT.out" 2>"$work/serve-$PORT.log" &
  PID=$!
  pids+=("$PID")
  wait_healthy "$PORT"
}

# Runs wrk; prints "rps p50_ms p99_ms non2xx".
measure() {
  local out
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")"
  local rps p50 p99 bad
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  bad="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") ${bad:-0}"
}
to_ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n+=0; else if (v ~ /s$/) n*=1000; printf "%.2f", n }'; }


# Writes lock.lua (PUT lock/unlock alternately over the seeded cards, as their owner) and pay.lua
# (simulated authorizations) into $2 for the seed answer in $1 (`cardinal bench seed`'s JSON).
write_scripts() {
  local seed="$1" dir="$2" token ids
  token="$(jq -r .owner_access_token "$seed")"
  ids="$(jq -r '.card_ids | map("\"" + . + "\"") | join(",")' "$seed")"
  cat >"$dir/lock.lua" <<LUA
local ids = { $ids }
local n = 0
wrk.headers["Authorization"] = "Bearer $token"
request = function()
  n = n + 1
  local card = ids[(math.floor(n / 2) % #ids) + 1]
  local action = (n % 2 == 0) and "lock" or "unlock"
  return wrk.format("PUT", "/v2/cards/" .. card .. "/" .. action)
end
LUA
  cat >"$dir/pay.lua" <<LUA
local ids = { $ids }
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $ADMIN"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"amount":0.01,"channel":"online","merchant":{"name":"Bench","category":"other","country":"FR"}}'
request = function()
  return wrk.format(nil, "/_sandbox/cards/" .. ids[math.random(#ids)] .. "/authorizations")
end
LUA
}
