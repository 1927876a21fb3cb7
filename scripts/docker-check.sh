#!/usr/bin/env bash
# make docker-check: build the image and run the README's Docker commands against it, in a clean copy of the
# checkout, checking what the README says they do. Each check prints PASS or FAIL; the exit status is the
# number of failures (0 = all passed). Needs a Docker daemon (DOCKER_HOST); not part of `make test`.
#
# The commands quoted from the README's Docker section appear here verbatim (tests/test_docker_docs.py checks
# that), so the README cannot drift from what is tested. It uses the README's names (image `footnote`,
# container `footnote`, volume `footnote-data`) and refuses to start when a container or volume of that name
# already exists, so it never touches a real deployment.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
note() { echo "      $*"; }

# Compose v2 is `docker compose`; where only v1 (`docker-compose`) is installed, run the same commands with it.
docker() {
  if [ "${1:-}" = compose ] && ! command docker compose version >/dev/null 2>&1; then
    shift; docker-compose "$@"
  else
    command docker "$@"
  fi
}

if ! command docker info >/dev/null 2>&1; then
  echo "FAIL: no Docker daemon answers (set DOCKER_HOST; on the dev machine: ../shared/tools/docker-standin start)"
  exit 1
fi
if command docker container inspect footnote >/dev/null 2>&1 || command docker volume inspect footnote-data >/dev/null 2>&1; then
  echo "FAIL: a container 'footnote' or a volume 'footnote-data' already exists; docker-check uses those names"
  echo "      and will not touch them. Remove them (if they are leftovers of a check) or use another daemon."
  exit 1
fi

WORK=$(mktemp -d /tmp/footnote-docker-check.XXXXXX)
HS=footnote-check-hs
CONSOLE=footnote-check-console
export COMPOSE_PROJECT_NAME=footnotecheck$$
cleanup() {
  cd /
  command docker rm -f footnote "$HS" "$CONSOLE" "$CONSOLE-discord" >/dev/null 2>&1
  for copy in "$WORK"/without "$WORK"/with; do
    [ -f "$copy/compose.example.yaml" ] && (cd "$copy" && docker compose -f compose.example.yaml down -v >/dev/null 2>&1)
  done
  command docker volume rm footnote-data >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

# A clean copy of the checkout: tracked and new files, nothing git ignores (no config.yaml, no footnote.env).
fresh_copy() {
  mkdir -p "$1"
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -c --ignore-failed-read 2>/dev/null) \
    | tar -x -C "$1"
}
fresh_copy "$WORK/checkout"
cd "$WORK/checkout" || exit 1
DOCKER_BIN=$(type -P docker)
wait_exit() { timeout "$2" "$DOCKER_BIN" wait "$1" 2>/dev/null || echo timeout; }

# --- the image ----------------------------------------------------------------------------------------------
start=$(date +%s)
if docker build -t footnote . >"$WORK/build.log" 2>&1; then
  pass "docker build -t footnote . ($(( $(date +%s) - start )) s)"
else
  fail "docker build -t footnote ."; tail -20 "$WORK/build.log"; exit 1
fi
size=$(command docker image inspect footnote --format '{{.Size}}')
note "image size: $((size / 1000000)) MB ($size bytes)"
[ "$(command docker image inspect footnote --format '{{json .Config.Volumes}}')" = null ] \
  && pass "no VOLUME in the image: a container run without -v leaves no anonymous volume" \
  || fail "the image declares a VOLUME"

echo "# edited by docker-check" >> bot/__init__.py
start=$(date +%s)
command docker build -t footnote-check-rebuild . >"$WORK/rebuild.log" 2>&1
grep -A3 "pip install -q -r" "$WORK/rebuild.log" | grep -qE "Using cache|CACHED" \
  && pass "after a code edit the dependency layer is reused (rebuild $(( $(date +%s) - start )) s)" \
  || fail "a code edit reinstalled the dependencies"
command docker rmi footnote-check-rebuild >/dev/null 2>&1
sed -i '$d' bot/__init__.py

# --- the console, with no network -----------------------------------------------------------------------------
out=$(docker run --rm --network none footnote console --once "china gives everyone a single social credit score right?" 2>&1)
case "$out" in
  "[False] "*http*http*) pass "console --once answers with cited sources and no network" ;;
  *) fail "console --once with no network"; note "$out" ;;
esac

# --- the default command with no platform: a clear message and exit 1, never a silent console ---------------
cp footnote.env.example footnote.env   # then fill in one platform's FOOTNOTE_* variables (git-ignored)
docker run -d --name footnote -v footnote-data:/data --env-file footnote.env footnote >/dev/null
code=$(wait_exit footnote 60)
docker logs footnote >"$WORK/noplatform.log" 2>&1
if [ "$code" = 1 ] && grep -q "no chat platform is configured" "$WORK/noplatform.log" \
   && grep -q "FOOTNOTE_DISCORD_TOKEN" "$WORK/noplatform.log" && ! grep -q Traceback "$WORK/noplatform.log"; then
  pass "no platform: exit 1 with a message naming the variables and the file"
  sed 's/^/      | /' "$WORK/noplatform.log"
else
  fail "no platform (exit $code)"; sed 's/^/      | /' "$WORK/noplatform.log"
fi
command docker rm -f footnote >/dev/null

printf 'FOOTNOTE_DISCORD_TOKN=abc\nFOOTNOTE_MATRIX_ACCESS_TOKEN=\n' > footnote.env
docker run -d --name footnote -v footnote-data:/data --env-file footnote.env footnote >/dev/null
code=$(wait_exit footnote 60)
# The log is read once into a file: with pipefail, `docker logs | grep -q` fails whenever grep stops early.
command docker logs footnote > "$WORK/misspelt.log" 2>&1
if [ "$code" = 1 ] && grep -q "FOOTNOTE_DISCORD_TOKN (did you mean FOOTNOTE_DISCORD_TOKEN?)" "$WORK/misspelt.log" \
   && grep -q "Set but empty: FOOTNOTE_MATRIX_ACCESS_TOKEN" "$WORK/misspelt.log"; then
  pass "a misspelt and an empty variable are named"
else
  fail "misspelt/empty variables (exit $code)"; command docker logs footnote 2>&1 | sed 's/^/      | /'
fi
command docker rm -f footnote >/dev/null

# --- health with a platform configured (a stand-in homeserver on the default bridge) ------------------------
command docker run -d --name "$HS" -v "$WORK/checkout/scripts/fake_homeserver.py:/fake_homeserver.py:ro" \
  python:3.11-slim python /fake_homeserver.py 8008 >/dev/null
hs_ip=$(command docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$HS")
printf 'FOOTNOTE_MATRIX_HOMESERVER=http://%s:8008\nFOOTNOTE_MATRIX_USER_ID=@footnote:fake.test\nFOOTNOTE_MATRIX_ACCESS_TOKEN=fake-token\n' \
  "$hs_ip" > footnote.env
docker run -d --name footnote -v footnote-data:/data --env-file footnote.env footnote >/dev/null
healthy=""
for _ in $(seq 60); do
  if docker exec footnote python -m bot.healthcheck >"$WORK/health.out" 2>&1; then healthy=yes; break; fi
  sleep 1
done
docker logs footnote >"$WORK/platform.log" 2>&1
if [ -n "$healthy" ] && grep -q "Footnote running: matrix" "$WORK/platform.log"; then
  pass "with a homeserver configured: $(cat "$WORK/health.out")"
else
  fail "health with a platform: $(cat "$WORK/health.out")"; sed 's/^/      | /' "$WORK/platform.log"
fi
status=""
for _ in $(seq 50); do   # the image's HEALTHCHECK runs every 30 s
  status=$(command docker inspect -f '{{.State.Health.Status}}' footnote)
  [ "$status" = healthy ] && break; sleep 1
done
[ "$status" = healthy ] && pass "Docker's HEALTHCHECK reports healthy" || fail "HEALTHCHECK status: $status"

others=$(command docker exec footnote find /data ! -user footnote)
listing=$(command docker exec footnote ls -ln /data)
if [ -z "$others" ] && grep -q footnote.sqlite3 <<<"$listing"; then
  pass "every file in /data belongs to the non-root user (uid 10001)"; sed 's/^/      | /' <<<"$listing"
else
  fail "files in /data not owned by footnote: $others"
fi

start=$(date +%s%N)
docker stop footnote >/dev/null        # SIGTERM: finishes in-flight replies, stops in well under 3 s
ms=$(( ($(date +%s%N) - start) / 1000000 ))
code=$(command docker inspect -f '{{.State.ExitCode}}' footnote)
docker logs footnote >"$WORK/platform.log" 2>&1
if [ "$ms" -lt 3000 ] && [ "$code" = 0 ] && grep -q "stopped cleanly" "$WORK/platform.log" \
   && ! grep -q "will reconnect" "$WORK/platform.log"; then
  pass "docker stop took $ms ms, exit 0, 'stopped cleanly', no 'will reconnect' at shutdown"
else
  fail "docker stop took $ms ms, exit $code"; tail -5 "$WORK/platform.log" | sed 's/^/      | /'
fi
command docker rm -f footnote >/dev/null

command docker run -d -t --name "$CONSOLE" footnote console >/dev/null
sleep 3
start=$(date +%s%N)
command docker stop "$CONSOLE" >/dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 3000 ] && pass "the console (PID 1, with a terminal) stops on SIGTERM in $ms ms" \
  || fail "the console took $ms ms to stop"

# --- Discord unreachable: one line per retry, no traceback ----------------------------------------------------
command docker run -d --name "$CONSOLE-discord" --network none -e FOOTNOTE_DISCORD_TOKEN=not.a.real.token footnote >/dev/null
sleep 8
logs=$(command docker logs "$CONSOLE-discord" 2>&1)
command docker rm -f "$CONSOLE-discord" >/dev/null
retries=$(grep -c "cannot reach Discord" <<<"$logs")
if [ "$retries" -ge 2 ] && ! grep -q Traceback <<<"$logs"; then
  pass "Discord unreachable: $retries retries, one line each, no traceback"; grep -m1 "cannot reach Discord" <<<"$logs" | sed 's/^/      | /'
else
  fail "Discord unreachable ($retries retry lines)"; head -20 <<<"$logs" | sed 's/^/      | /'
fi

# --- a folder the bot cannot write: one line, no traceback ------------------------------------------------
mkdir -p "$WORK/rootowned" && chmod 755 "$WORK/rootowned"
out=$(command docker run --rm -v "$WORK/rootowned:/data" --env-file footnote.env footnote 2>&1); code=$?
if [ "$code" = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "not writable by uid 10001" <<<"$out"; then
  pass "a root-owned folder on /data: one line, exit 1"; note "$out"
else
  fail "root-owned /data (exit $code)"; note "$out"
fi
out=$(command docker run --rm -v footnote-data:/data footnote db backup /backups/footnote.sqlite3 2>&1); code=$?
if [ "$code" = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && ! grep -q Traceback <<<"$out"; then
  pass "db backup to a folder it cannot create: one line, exit 1"; note "$out"
else
  fail "db backup to an unwritable target (exit $code)"; note "$out"
fi
command docker rm -f "$HS" >/dev/null

# --- compose on a fresh checkout, without and with config.yaml ------------------------------------------------
for variant in without with; do
  fresh_copy "$WORK/$variant"
  cd "$WORK/$variant" || exit 1
  if [ "$variant" = with ]; then
    printf 'database: footnote.sqlite3\npolicy:\n  user_per_hour: 7\n' > config.yaml
  fi
  cp footnote.env.example footnote.env   # then fill in one platform's FOOTNOTE_* variables (git-ignored)
  docker compose -f compose.example.yaml up -d --build >"$WORK/compose-$variant.log" 2>&1 \
    || { fail "compose up ($variant config.yaml)"; tail -5 "$WORK/compose-$variant.log"; continue; }
  cid=$(docker compose -f compose.example.yaml ps -q footnote)
  for _ in $(seq 30); do
    command docker logs "$cid" 2>&1 | grep -q "no chat platform is configured" && break; sleep 1
  done
  logs=$(command docker logs "$cid" 2>&1)
  check=$(docker compose -f compose.example.yaml run --rm footnote config check 2>/dev/null)
  summary=$(python3 -c 'import json,sys; c = json.loads(sys.stdin.read()); s = c["sources"]
print(s["config_file"], c["database"], c["policy"]["user_per_hour"], ",".join(s["environment_overrides_file"]))' \
    <<<"$check" 2>&1)
  if [ "$variant" = without ]; then want="None /data/footnote.sqlite3 3 "; else
    want="/config/config.yaml /data/footnote.sqlite3 7 database"; fi
  if [ -d config.yaml ]; then
    fail "compose $variant config.yaml: Docker created a directory named config.yaml"
  elif ! grep -q "no chat platform is configured" <<<"$logs" || grep -q "Is a directory" <<<"$logs"; then
    fail "compose $variant config.yaml: the bot did not say what is missing"; note "$logs"
  elif [ "$summary" != "$want" ]; then
    fail "compose $variant config.yaml: config check gave '$summary', wanted '$want'"
  else
    pass "compose $variant config.yaml: no stray directory, the no-platform message, config check: $summary"
  fi
  docker compose -f compose.example.yaml down >/dev/null 2>&1
  command docker volume rm "${COMPOSE_PROJECT_NAME}_footnote-data" >/dev/null 2>&1
done

echo
if [ "$FAILED" = 0 ]; then echo "docker-check: all passed"; else echo "docker-check: $FAILED check(s) FAILED"; fi
exit "$FAILED"
