#!/bin/bash
# loyaltyd --check-config says "configuration OK" or lists every error as
# FILE:LINE: message and exits 1; a secrets file others can read is refused.
. "$(dirname "$0")/lib/tap.sh"
LOYALTYD=${LOYALTYD:-$(dirname "$0")/../build/loyaltyd}
dir=$(mktemp -d /tmp/loyalty-t.XXXXXX)
trap 'rm -rf "$dir"' EXIT

# The shipped file names /etc/loyalty/secrets.conf, which the package writes
# at install; here a fresh one from loyaltyctl gen-secrets stands in.
LOYALTYCTL=${LOYALTYCTL:-$(dirname "$0")/../build/loyaltyctl}
"$LOYALTYCTL" gen-secrets --output "$dir/secrets.conf" >/dev/null
sed "s|^secrets_file = /etc/loyalty/secrets.conf\$|secrets_file = $dir/secrets.conf|" \
	"$(dirname "$0")/../etc/loyalty.conf" >"$dir/shipped.conf"
out=$("$LOYALTYD" -c "$dir/shipped.conf" --check-config 2>&1)
is "$?" 0 "the shipped example configuration passes, with a secrets file from gen-secrets"
is "$out" "configuration OK" "and says so"
out=$("$LOYALTYD" -c "$(dirname "$0")/../etc/loyalty.conf" --check-config 2>&1)
is "$?" 1 "without its secrets file it does not"
like "$out" '/etc/loyalty/secrets.conf' "and names the file"

cat >"$dir/bad.conf" <<'CONF'
# a comment
[server]
workers = 0
max_requests = ten
bogus = 1
[database]
port = 70000
[nosuch]
x = 1
[log]
level = loud
no equals sign here
CONF
out=$("$LOYALTYD" -c "$dir/bad.conf" --check-config 2>&1)
is "$?" 1 "a bad configuration exits 1"
like "$out" "$dir/bad.conf:3: server.workers: 0 is out of range \(1 to 64\)" "out of range, with FILE:LINE"
like "$out" "$dir/bad.conf:4: server.max_requests: \"ten\" is not an integer" "not an integer, with FILE:LINE"
like "$out" "$dir/bad.conf:5: unknown key server.bogus" "unknown key, with FILE:LINE"
like "$out" "$dir/bad.conf:7: database.port: 70000 is out of range" "port out of range"
like "$out" "$dir/bad.conf:8: unknown section \[nosuch\]" "unknown section"
like "$out" "$dir/bad.conf:11: log.level: \"loud\" is not one of" "bad enum"
like "$out" "$dir/bad.conf:12: expected key = value" "a line without ="
is "$(printf '%s\n' "$out" | wc -l)" 7 "every error listed, one per line"

out=$("$LOYALTYD" -c "$dir/missing.conf" --check-config 2>&1)
is "$?" 1 "a missing file exits 1"
like "$out" "missing.conf: cannot open" "and says why"

printf '[database]\npassword = hunter2\n' >"$dir/inline.conf"
out=$("$LOYALTYD" -c "$dir/inline.conf" --check-config 2>&1)
like "$out" 'database.password is a secret: put it in the secrets_file' \
	"a password in the main file is refused"

keys="[auth]\njwt_key = $(printf '%064d' 7)\nmaster_key = $(printf '%064d' 9)\n"
printf "[database]\npassword = s3cret-value\n$keys" >"$dir/secrets.conf"
printf '[server]\nsecrets_file = %s\n' "$dir/secrets.conf" >"$dir/main.conf"
chmod 0644 "$dir/secrets.conf"
out=$("$LOYALTYD" -c "$dir/main.conf" --check-config 2>&1)
is "$?" 1 "a world-readable secrets file fails the check"
like "$out" 'accessible by others \(mode 0644\)' "and the mode is named"
out=$("$LOYALTYD" -c "$dir/main.conf" --listen "$dir/s.sock" 2>&1)
is "$?" 1 "loyaltyd refuses to start with it"
chmod 0640 "$dir/secrets.conf"
out=$("$LOYALTYD" -c "$dir/main.conf" --check-config 2>&1)
is "$out" "configuration OK" "mode 0640 is accepted"

# The token and sealing keys: required, and long enough.
cp "$dir/secrets.conf" "$dir/full-secrets.conf"
printf '[database]\npassword = s3cret-value\n' >"$dir/secrets.conf"
out=$("$LOYALTYD" -c "$dir/main.conf" --check-config 2>&1)
is "$?" 1 "a secrets file without auth.jwt_key and auth.master_key fails the check"
like "$out" "$dir/secrets.conf: auth.jwt_key is not set: .loyaltyctl gen-secrets --add-missing" \
	"naming the missing key and the command that adds it"
like "$out" "auth.master_key is not set" "both"
out=$("$LOYALTYD" -c "$dir/main.conf" --listen "$dir/s.sock" 2>&1)
is "$?" 1 "loyaltyd refuses to start without them"
out=$("$LOYALTYCTL" gen-secrets --add-missing --output "$dir/secrets.conf" 2>&1)
is "$?" 0 "gen-secrets --add-missing adds them"
like "$out" "added 2 secret\(s\) to $dir/secrets.conf" "and says so"
is "$(grep -c '^password = s3cret-value$' "$dir/secrets.conf")" 1 "the existing password is kept"
is "$(stat -c %a "$dir/secrets.conf")" 640 "the file stays mode 0640"
is "$("$LOYALTYD" -c "$dir/main.conf" --check-config 2>&1)" "configuration OK" \
	"and the configuration passes"
before=$(cat "$dir/secrets.conf")
out=$("$LOYALTYCTL" gen-secrets --add-missing --output "$dir/secrets.conf" 2>&1)
is "$?" 0 "a second --add-missing exits 0"
is "$(cat "$dir/secrets.conf")" "$before" "and changes nothing"
printf '[database]\npassword = x\n[auth]\njwt_key = %s\nmaster_key = %s\n' \
	"$(printf '%032d' 1)" "$(printf '%064d' 2)" >"$dir/secrets.conf"
out=$("$LOYALTYD" -c "$dir/main.conf" --check-config 2>&1)
is "$?" 1 "a 16-byte auth.jwt_key is refused"
like "$out" 'auth.jwt_key: 16 bytes; it must have 32 to 64 \(64 to 128 hex digits\)' "with the sizes"
unlike "$out" "$(printf '%032d' 1)" "and without echoing the key"
cp "$dir/full-secrets.conf" "$dir/secrets.conf"
out=$("$LOYALTYD" -c "$dir/main.conf" --print-config 2>&1)
like "$out" '# password = <set>' "--print-config shows the password is set"
unlike "$out" 's3cret-value' "but never prints it"
printf '[server]\nworkers = 2\n' >>"$dir/secrets.conf"
out=$("$LOYALTYD" -c "$dir/main.conf" --check-config 2>&1)
like "$out" 'server.workers does not belong in the secrets file' \
	"only secrets belong in the secrets file"

out=$("$LOYALTYD" --no-such-option 2>&1)
is "$?" 2 "an unknown option exits 2"

done_testing
