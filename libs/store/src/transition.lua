-- Atomic call state transition. Refuses moves backwards and any move out of a terminal state.
-- Answering and ending also queue the webhook event (call.answered / call.ended) in the call's outbox,
-- in the same script, so the event exists exactly when the change does.
-- KEYS: 1 call hash, 2 timeline list, 3 active zset, 4 transcript stream, 5 event outbox stream, 6 events due zset
-- ARGV: 1 new state, 2 ts (ms), 3 source, 4 reason, 5 retention ms, 6 callId
local rank = { queued = 0, initiated = 1, ringing = 2, ["in-progress"] = 3,
  completed = 4, busy = 4, ["no-answer"] = 4, failed = 4, canceled = 4, rejected = 4 }
local cur = redis.call("HGET", KEYS[1], "state")
if not cur then return { "missing", "" } end
local new = ARGV[1]
if rank[new] == nil then return { "invalid", cur } end
if cur == new then return { "same", cur } end
if rank[cur] >= 4 or rank[new] <= rank[cur] then return { "refused", cur } end
local ret = tonumber(ARGV[5])
local reason = ARGV[4] ~= "" and ARGV[4] or nil
redis.call("HSET", KEYS[1], "state", new, "updatedAt", ARGV[2])
if new == "in-progress" then redis.call("HSET", KEYS[1], "answeredAt", ARGV[2]) end
local entry = cjson.encode({ ts = tonumber(ARGV[2]), state = new, prev = cur, source = ARGV[3], reason = reason })
redis.call("RPUSH", KEYS[2], entry)
if rank[new] == 4 then
  redis.call("HSET", KEYS[1], "endedAt", ARGV[2])
  if reason then redis.call("HSET", KEYS[1], "endReason", reason) end
  redis.call("ZREM", KEYS[3], ARGV[6])
  if ret > 0 then
    redis.call("PEXPIRE", KEYS[1], ret)
    redis.call("PEXPIRE", KEYS[2], ret)
    redis.call("PEXPIRE", KEYS[4], ret)
  end
end
if new == "in-progress" or rank[new] == 4 then
  local evt = new == "in-progress" and "call.answered" or "call.ended"
  redis.call("XADD", KEYS[5], "*", "type", evt, "ts", ARGV[2], "data", cjson.encode({ state = new, prev = cur, reason = reason }))
  if ret > 0 then redis.call("PEXPIRE", KEYS[5], ret) end
  redis.call("ZADD", KEYS[6], "NX", ARGV[2], ARGV[6])
end
return { "applied", cur }
