-- Hand a claimed call back: forget it when nothing lies past its cursor (or its outbox expired),
-- else look again at ARGV[2]. Atomic with appends (they ZADD NX), so no event is stranded.
-- KEYS: 1 due zset, 2 the call's outbox stream, 3 its delivery hash; ARGV: 1 callId, 2 next look ms
local cursor = redis.call("HGET", KEYS[3], "cursor") or "0-0"
local after = redis.call("XRANGE", KEYS[2], "(" .. cursor, "+", "COUNT", 1)
if #after == 0 then
  redis.call("ZREM", KEYS[1], ARGV[1])
  return 0
end
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
return 1
