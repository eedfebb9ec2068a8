#!/bin/sh
# First run: create .env from .env.example with fresh secrets, so `docker compose up` works with no
# accounts at all (browser phone at https://localhost/phone). Never overwrites an existing .env.
set -eu
cd "$(dirname "$0")/.."
if [ -e .env ]; then
  echo ".env exists; leaving it as it is"
else
  rand() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
  api=$(rand)
  sed -e "s/^API_TOKEN=.*/API_TOKEN=$api/" -e "s/^STREAM_TOKEN_SECRET=.*/STREAM_TOKEN_SECRET=$(rand)/" .env.example > .env
  chmod 600 .env
  echo "wrote .env with new API_TOKEN and STREAM_TOKEN_SECRET"
fi
token=$(sed -n 's/^API_TOKEN=//p' .env)
host=$(sed -n 's/^PUBLIC_HOST=//p' .env)
echo "after \`docker compose up -d\`: browser phone https://${host:-localhost}/phone#token=$token"
echo "\`npm run dev\` uses this .env's API_TOKEN, STREAM_TOKEN_SECRET and TWILIO_* too (its other settings: export them)"
