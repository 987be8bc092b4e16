-- Create a session record with its TTL, atomically.
-- KEYS[1] session hash
-- ARGV[1] TTL in seconds, ARGV[2..] field/value pairs
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
