-- Extend the leases a node still uses, in one round trip per principal.
-- KEYS[1] the principal's lease set: a sorted set of member -> expiry (epoch ms)
-- ARGV[1] the lease's length in ms, ARGV[2..] the members
-- A lease that lapsed meanwhile (Redis was briefly unreachable) is added back: the count must
-- show what is really open, even if that is above the limit, which only new claims must respect.
-- Returns the number of members refreshed.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expiry = now + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], expiry, ARGV[i])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 or now + ttl < expiry then
  redis.call('PEXPIREAT', KEYS[1], expiry)
end
return #ARGV - 1
