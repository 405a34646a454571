# Helpers bench/run, bench/ab and bench/webhooks share; they expect $work, $ADMIN, $THREADS,
# $CONNECTIONS, $DURATION and a pids array (the webhook ones $TOKEN, $ORG and $HOOK_URL too).

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

# Starts `<binary> serve` on a database (a SQLite file's path, or a URL; more flags after it);
# sets PID and PORT (and STARTED_NS, just before exec).
serve() {
  local database="$2"
  [[ "$database" == *://* ]] || database="sqlite://$database"
  PORT="$(free_port)"
  STARTED_NS=$(date +%s%N)
  CARDINAL_LOG="info,cardinal_store_sqlite=debug" \
    "$1" serve --bind "127.0.0.1:$PORT" --database "$database" --rate-limits off --admin-token "$ADMIN" \
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


# Writes lock.lua (PUT lock/unlock over the seeded cards, as their owner) and pay.lua
# (simulated authorizations) into $2 for the seed answer in $1 (`cardinal bench seed`'s JSON).
# Each wrk thread walks a share of the cards of its own, locking each on one pass and unlocking
# it on the next: no two requests in flight ever change the same card, as with real clients.
# (Every thread's Lua starts alike: a shared walk, or math.random unseeded, sends the same card
# from both threads at once, and PostgreSQL then queues one behind the other's row lock.)
thread_shares() {
  cat <<LUA
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("slot", #threads - 1)
end
function init(args)
  share = math.floor(#ids / ${THREADS:-2})
  first = (slot or 0) * share
  math.randomseed(1 + (slot or 0))
end
LUA
}
write_scripts() {
  local seed="$1" dir="$2" token ids
  token="$(jq -r .owner_access_token "$seed")"
  ids="$(jq -r '.card_ids | map("\"" + . + "\"") | join(",")' "$seed")"
  local threads
  threads="$(thread_shares)"
  cat >"$dir/lock.lua" <<LUA
ids = { $ids }
$threads
local n = 0
wrk.headers["Authorization"] = "Bearer $token"
request = function()
  local card = ids[first + (n % share) + 1]
  local action = (math.floor(n / share) % 2 == 0) and "lock" or "unlock"
  n = n + 1
  return wrk.format("PUT", "/v2/cards/" .. card .. "/" .. action)
end
LUA
  cat >"$dir/pay.lua" <<LUA
ids = { $ids }
$threads
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $ADMIN"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"amount":0.01,"channel":"online","merchant":{"name":"Bench","category":"other","country":"FR"}}'
request = function()
  return wrk.format(nil, "/_sandbox/cards/" .. ids[first + math.random(share)] .. "/authorizations")
end
LUA
}

# The machine's CPU time, busy and total, in clock ticks (from /proc/stat's first line).
cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
# The share of CPU time spent busy between two cpu_ticks, in percent.
cpu_busy() {
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
    printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

# The SQLite writer's running totals from its last "group commits" log line (logged at debug
# level at most once a second while it commits): "commits operations executing_us committing_us".
# grep finds the line: the log also holds a line per request, millions by then, too many for jq.
commit_totals() {
  sleep 0.1 # log lines are written every 25 ms
  grep -F '"group commits"' "$work/serve-$PORT.log" | tail -n1 \
    | jq -r '.fields | "\(.commits) \(.operations) \(.executing_us) \(.committing_us)"' | grep . || echo "0 0 0 0"
}
# Operations per commit, µs executing per operation and ms committing per commit, between two
# commit_totals.
commit_costs() {
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); c = y[1] - x[1]; o = y[2] - x[2]
    if (c == 0 || o == 0) { print "no commits logged"; exit }
    printf "%.1f operations per commit, executing %.0f us per operation, committing (WAL write and sync) %.2f ms per commit\n",
      o / c, (y[3] - x[3]) / o, (y[4] - x[4]) / c / 1000 }'
}

# Webhook subscriptions of the seeded owner ($TOKEN) on the server at $PORT, to $HOOK_URL.
subscribe() {
  curl -sf -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    -d "{\"callback_url\":\"$HOOK_URL\",\"types\":[\"v1/cards\"]}" \
    "http://127.0.0.1:$PORT/v2/webhook_subscriptions" | jq -r .id
}
unsubscribe() {
  curl -sf -o /dev/null -X DELETE -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v2/webhook_subscriptions/$1"
}
# Deliveries of the seeded organization ($ORG) not made yet.
pending() {
  curl -sf -H "Authorization: Bearer $ADMIN" \
    "http://127.0.0.1:$PORT/_sandbox/organizations/$ORG/webhook_deliveries?status=pending&per_page=1" | jq .meta.total_count
}
# Waits until no delivery is pending; fails if the server stops answering.
drained() {
  local left
  while left="$(pending)" && [ "$left" != "0" ]; do
    [ -n "$left" ] || { echo "the server at $PORT stopped answering" >&2; return 1; }
    sleep 0.1
  done
}

# One interleaved round on the server at $PORT: lock/unlock ($work/lock.lua) without a webhook
# subscription, then with one; with $1 = on (the server delivers) waits for its deliveries;
# then deletes it (its deliveries not made go with it). Sets ROUND=(without_rps with_rps
# with_p99_ms pending_at_stop), and ROUND_WRITER and ROUND_CPU: the writer's totals
# (commit_totals) and the CPU's ticks (cpu_ticks) around each run.
subscription_round() {
  local t1 c1 t2 c2 t3 c3 t4 c4 without with p99 id left
  t1="$(commit_totals)"; c1="$(cpu_ticks)"
  read -r without _ _ _ <<<"$(measure -s "$work/lock.lua" "http://127.0.0.1:$PORT")"
  t2="$(commit_totals)"; c2="$(cpu_ticks)"
  id="$(subscribe)"
  t3="$(commit_totals)"; c3="$(cpu_ticks)"
  read -r with _ p99 _ <<<"$(measure -s "$work/lock.lua" "http://127.0.0.1:$PORT")"
  t4="$(commit_totals)"; c4="$(cpu_ticks)"
  left="$(pending)"
  if [ "$1" = on ]; then drained; fi
  unsubscribe "$id"
  ROUND=("$without" "$with" "$p99" "$left")
  ROUND_WRITER=("$t1" "$t2" "$t3" "$t4")
  ROUND_CPU=("$c1" "$c2" "$c3" "$c4")
}
