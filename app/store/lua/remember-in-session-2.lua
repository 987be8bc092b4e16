-- Store a value in a session's memory within its quota; the memory lives exactly as long as the session.
-- KEYS[1] session hash, KEYS[2] the session's memory hash
-- ARGV[1] key, ARGV[2] value, ARGV[3] the most keys, ARGV[4] the most bytes of keys plus values (0: no limit)
-- Returns {1, bytes} when stored, {0, 0} when the session is gone, {-1, keys} over the key quota,
-- {-2, bytes} over the byte quota. The accounting is remember-for-principal-1.lua's: the byte
-- count lives under the empty field, and a write that adds no key or no bytes is always allowed.
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then
  return {0, 0}
end
local USAGE = ''
local hash = KEYS[2]
local bytes = tonumber(redis.call('HGET', hash, USAGE))
local keys = redis.call('HLEN', hash)
if bytes then
  keys = keys - 1
else
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
local maxKeys, maxBytes = tonumber(ARGV[3]), tonumber(ARGV[4])
if maxKeys > 0 and newKeys > maxKeys and newKeys > keys then
  return {-1, keys}
end
if maxBytes > 0 and newBytes > maxBytes and newBytes > bytes then
  return {-2, bytes}
end
redis.call('HSET', hash, ARGV[1], ARGV[2], USAGE, newBytes)
redis.call('PEXPIRE', hash, ttl)
return {1, newBytes}
