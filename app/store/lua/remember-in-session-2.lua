-- Store a value in a session's memory, which lives exactly as long as the session.
-- KEYS[1] session hash, KEYS[2] the session's memory hash
-- ARGV[1] key, ARGV[2] value
-- Returns 1 when written, 0 when the session is gone.
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
