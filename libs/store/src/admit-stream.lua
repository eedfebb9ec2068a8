-- Admit a Media Stream: every check and write between Twilio's `start` and the greeting, in one round trip.
-- KEYS: 1 call hash, 2 the token's seen key, 3 the call's stream lease
-- ARGV: 1 signed upgrade ("1"/"0"), 2 token ttl ms, 3 lease owner, 4 lease ttl ms, 5 streamSid, 6 worker, 7 now ms, 8.. terminal states
-- Returns {"unsigned"|"used"|"unknown"|"ended"|"owned"} or {"ok", streamCount, previous owner or "", call hash as a flat list}.
-- An unsigned upgrade must be a browser call; checked before the token is spent, so an unsigned copy cannot burn Twilio's.
if ARGV[1] ~= "1" and redis.call("HGET", KEYS[1], "channel") ~= "web" then return {"unsigned"} end
-- Single use across every worker: a second start with the same token, whatever its streamSid, is a replay.
if not redis.call("SET", KEYS[2], "1", "PX", ARGV[2], "NX") then return {"used"} end
if not redis.call("HGET", KEYS[1], "callId") then return {"unknown"} end
local state = redis.call("HGET", KEYS[1], "state")
for i = 8, #ARGV do
  if state == ARGV[i] then return {"ended"} end
end
-- One bidirectional stream per call: a verified start with a new streamSid takes over the lease at once;
-- only the same streamSid held by another worker is refused.
local cur = redis.call("GET", KEYS[3])
local suffix = "/" .. ARGV[5]
if cur and cur ~= ARGV[3] and string.sub(cur, -#suffix) == suffix then return {"owned"} end
redis.call("SET", KEYS[3], ARGV[3], "PX", ARGV[4])
-- The record names the new stream before anyone hears of it: an old stream's late stop then sees it is stale.
redis.call("HSET", KEYS[1], "mediaOwner", ARGV[6], "streamSid", ARGV[5], "updatedAt", ARGV[7])
local streams = redis.call("HINCRBY", KEYS[1], "streamCount", 1)
return {"ok", tostring(streams), cur or "", redis.call("HGETALL", KEYS[1])}
