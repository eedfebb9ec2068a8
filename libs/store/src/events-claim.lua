-- Claim calls whose events are due: push each one's next look `lease` ms ahead, so no other gateway
-- delivers the same call at the same time (per-call order); a crashed claimer's calls come back
-- when the lease passes. KEYS: 1 due zset; ARGV: 1 now ms, 2 lease ms, 3 limit
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[3]))
local until_ = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, id in ipairs(ids) do redis.call("ZADD", KEYS[1], "XX", until_, id) end
return ids
