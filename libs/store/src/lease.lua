-- Acquire or renew a lease: succeeds if free or already ours. KEYS: 1 lease; ARGV: 1 owner, 2 ttl ms, 3 steal-if ("" or an owner to replace)
local cur = redis.call("GET", KEYS[1])
if (not cur) or cur == ARGV[1] or (ARGV[3] ~= "" and cur == ARGV[3]) then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  return 1
end
return 0
