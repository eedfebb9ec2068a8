-- Nobody listens for a claimed call's events: move its cursor past the last one and hand it back, in
-- one round trip (paging through with XRANGE + advance + release took five). Atomic with appends.
-- KEYS: 1 due zset, 2 the call's outbox stream, 3 its delivery hash; ARGV: 1 callId, 2 retention ms
local last = redis.call("XREVRANGE", KEYS[2], "+", "-", "COUNT", 1)
if #last > 0 then
  redis.call("HSET", KEYS[3], "cursor", last[1][1], "attempts", "0")
  redis.call("HDEL", KEYS[3], "firstFailureAt", "lastError")
  if tonumber(ARGV[2]) > 0 then redis.call("PEXPIRE", KEYS[3], ARGV[2]) end
end
redis.call("ZREM", KEYS[1], ARGV[1])
return #last
