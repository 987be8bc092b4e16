-- Store a value in a principal's memory and slide the memory's TTL.
-- KEYS[1] the principal's memory hash
-- ARGV[1] key, ARGV[2] value, ARGV[3] TTL in seconds
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
