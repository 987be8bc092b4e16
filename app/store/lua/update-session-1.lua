-- Set fields on a session only if it still exists.
-- KEYS[1] session hash
-- ARGV field/value pairs
-- Returns 1 when written, 0 when the session is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
