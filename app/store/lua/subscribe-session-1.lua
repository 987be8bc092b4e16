-- Add or remove a resource subscription of a 2025-era session, only if the session exists.
-- KEYS[1] session hash
-- ARGV[1] 'add' or 'remove', ARGV[2] the resource URI, ARGV[3] the most subscriptions kept
-- Returns 1 when done, 0 when the session is gone, -1 when the session has too many.
-- The list lives in the record, so every node sees it, and it expires with the session.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local raw = redis.call('HGET', KEYS[1], 'subscriptions')
local list = {}
if raw then
  list = cjson.decode(raw)
end
local kept = {}
local present = false
for _, uri in ipairs(list) do
  if uri == ARGV[2] then
    present = true
    if ARGV[1] == 'add' then
      table.insert(kept, uri)
    end
  else
    table.insert(kept, uri)
  end
end
if ARGV[1] == 'add' and not present then
  if #kept >= tonumber(ARGV[3]) then
    return -1
  end
  table.insert(kept, ARGV[2])
end
if #kept == 0 then
  redis.call('HDEL', KEYS[1], 'subscriptions')
else
  redis.call('HSET', KEYS[1], 'subscriptions', cjson.encode(kept))
end
return 1
