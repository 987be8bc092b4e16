-- Delete a stream-owner record only if it still names the given owner, so that releasing a stale
-- claim never removes a newer owner's.
-- KEYS[1] the owner record
-- ARGV[1] the owner's relay address
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
