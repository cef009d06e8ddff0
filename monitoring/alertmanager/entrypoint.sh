#!/bin/sh
# Starts Alertmanager with its secrets in place. Alertmanager reads secrets
# only from files (the *_file fields of alertmanager.yml, all in
# /run/alertmanager/secrets), so this writes each one there first, from:
#   1. its environment variable, when set and not empty, else
#   2. the file of the same name in /etc/alertmanager/secrets (compose
#      mounts the host folder $ALERTMANAGER_SECRETS_DIR there).
# A secret given neither way is left out: its integration fails when it
# sends (Alertmanager logs it) and the other integrations still deliver.
# Then it runs its arguments: the Alertmanager binary and its flags.
#
# Written for busybox sh: the local image has no other shell or tools.
# ALERTMANAGER_SECRETS_IN and _OUT move the two folders (the tests do).
set -eu

in=${ALERTMANAGER_SECRETS_IN:-/etc/alertmanager/secrets}
out=${ALERTMANAGER_SECRETS_OUT:-/run/alertmanager/secrets}
umask 077
mkdir -p "$out"

# secret NAME VARIABLE
secret() {
  eval "value=\${$2:-}"
  if [ -n "$value" ]; then
    # No newline: not every *_file reader trims one.
    printf '%s' "$value" >"$out/$1"
    echo "alertmanager secrets: $1 from \$$2"
  elif [ -f "$in/$1" ]; then
    cat "$in/$1" >"$out/$1"
    echo "alertmanager secrets: $1 from $in/$1"
  else
    rm -f "$out/$1"
    echo "alertmanager secrets: $1 not given (set \$$2 or put the file in $in): its integration will fail"
  fi
}

secret slack_api_url ALERTMANAGER_SLACK_API_URL
secret smtp_auth_password ALERTMANAGER_SMTP_AUTH_PASSWORD
secret webhook_token ALERTMANAGER_WEBHOOK_TOKEN

if [ $# -eq 0 ]; then
  echo "usage: entrypoint.sh /bin/alertmanager --config.file=... [flags]" >&2
  exit 2
fi
exec "$@"
