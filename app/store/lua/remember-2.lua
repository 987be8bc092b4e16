-- Store a value in a memory (a session's or a principal's) within its quota, and set the memory's lifetime.
-- KEYS[1] the memory hash
-- KEYS[2] its owner: the session hash for a session's memory, which lives exactly as long as the session;
--         the memory hash again for a principal's memory, which has a sliding TTL of its own
-- ARGV[1] key, ARGV[2] value, ARGV[3] the memory's own TTL in seconds (0: the owner's remaining life),
-- ARGV[4] the most keys, ARGV[5] the most bytes of keys plus values (0: no limit)
-- Returns {1, bytes} when stored, {0, 0} when the owner is gone, {-1, keys} over the key quota,
-- {-2, bytes} over the byte quota.
-- The byte count lives in the hash itself, under the empty field, which no key can be (keys are
-- 1 to 256 characters): it lives and expires with the values it counts. A write that adds no key
-- or no bytes is always allowed, so a caller over a lowered quota can still shrink.
-- Both memories share this one script so that their quota accounting cannot drift apart; both keys
-- of a call hash to one slot (a session's keys share its tag, and a principal passes one key twice).
local hash, owner = KEYS[1], KEYS[2]
local ownTtlSeconds = tonumber(ARGV[3])
local ownerTtl
if ownTtlSeconds == 0 then
  ownerTtl = redis.call('PTTL', owner)
  if ownerTtl <= 0 then
    return {0, 0}
  end
end
local USAGE = ''
local bytes = tonumber(redis.call('HGET', hash, USAGE))
local keys = redis.call('HLEN', hash)
if bytes then
  keys = keys - 1
else
  -- A hash written before quotas existed: count it once.
  bytes = 0
  local flat = redis.call('HGETALL', hash)
  for i = 1, #flat, 2 do
    bytes = bytes + #flat[i] + #flat[i + 1]
  end
end
local present = redis.call('HEXISTS', hash, ARGV[1]) == 1
local newKeys = keys
local newBytes = bytes + #ARGV[1] + #ARGV[2]
if present then
  newBytes = newBytes - #ARGV[1] - redis.call('HSTRLEN', hash, ARGV[1])
else
  newKeys = keys + 1
end
local maxKeys, maxBytes = tonumber(ARGV[4]), tonumber(ARGV[5])
if maxKeys > 0 and newKeys > maxKeys and newKeys > keys then
  return {-1, keys}
end
if maxBytes > 0 and newBytes > maxBytes and newBytes > bytes then
  return {-2, bytes}
end
redis.call('HSET', hash, ARGV[1], ARGV[2], USAGE, newBytes)
if ownerTtl then
  redis.call('PEXPIRE', hash, ownerTtl)
else
  redis.call('EXPIRE', hash, ownTtlSeconds)
end
return {1, newBytes}
