-- Slide the TTL of a stream-owner record, only while this node still owns it.
-- KEYS[1] the owner record
-- ARGV[1] this node's relay address, ARGV[2] TTL in seconds
-- Returns 1 while owned, 0 when another node took the stream over or the record is gone.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
