package redisstore

import "github.com/redis/go-redis/v9"

// The scripts. Each service script touches only keys of one service, all
// in its hash slot ({service}); the catalog part (the services, leases and
// removed indexes and the catalog index, all in the {catalog} slot) runs
// inside the same script on a single node or Sentinel (given those keys),
// and as catalogScript in a second call on a Cluster. Times are Unix
// microseconds (exact in Lua's doubles until the year 2255); numbers are
// formatted with %.0f because Lua's default number-to-string conversion
// keeps only 14 digits. Every change publishes a notification (see
// notify.go) in the same script, so notifications come in write order.

// prelude is shared by every script.
//
// alloc takes the next index of the catalog's sequence (catalog.NextIndex:
// max(last+1, now)). svcIndex moves a service's index to the next one:
// given, when the caller allocated it first (a Cluster, where the
// sequence lives in another slot), else allocated here; a given index not
// above the service's is refused (-1: allocate again), so that a
// service's index only ever grows. keepIDs keeps the service's ids key
// alive a grace period past its latest lease, so the reaper always finds
// an ended lease there, and returns the latest and earliest lease ends.
// catalog records a service's effect on the catalog: kind 1 appeared, 2
// emptied, 3 still live (leases moved), 0 nothing but the earliest lease.
const prelude = `
local function f(n) return string.format('%.0f', n) end
local function alloc(seq, now)
  local idx = math.max((tonumber(redis.call('GET', seq)) or 0) + 1, now)
  redis.call('SET', seq, f(idx))
  return idx
end
local function svcIndex(key, given, seq, now)
  local prev = tonumber(redis.call('GET', key)) or 0
  local idx = given
  if idx == 0 then idx = alloc(seq, now) elseif idx <= prev then return prev, -1 end
  redis.call('SET', key, f(idx))
  return prev, idx
end
local function keepIDs(ids, now, grace)
  local top = redis.call('ZRANGE', ids, -1, -1, 'WITHSCORES')
  if not top[2] then return 0, 0 end
  local ms = math.max(1, math.ceil((tonumber(top[2]) - now) / 1000)) + grace
  redis.call('PEXPIRE', ids, f(ms))
  local first = redis.call('ZRANGE', ids, 0, 0, 'WITHSCORES')
  return tonumber(top[2]), tonumber(first[2])
end
local function catalog(ck, chan, svc, now, kind, idx, latest, first)
  if kind == 2 then
    redis.call('ZREM', ck[1], svc)
    redis.call('ZREM', ck[4], svc)
    redis.call('ZADD', ck[3], f(idx), svc)
  else
    if latest > 0 then redis.call('ZADD', ck[1], 'GT', f(latest), svc) end
    if first > 0 then redis.call('ZADD', ck[4], f(first), svc) else redis.call('ZREM', ck[4], svc) end
    if kind == 1 then redis.call('ZREM', ck[3], svc) end
  end
  if kind == 1 or kind == 2 then
    local c = alloc(ck[5], now)
    redis.call('SET', ck[2], f(c))
    redis.call('PUBLISH', chan, 'c ' .. f(c))
    return c
  end
  return 0
end
`

// putScript replaces one instance and moves the service's index, unless
// the instance would be a new live one of a service that has max of them
// already: then it changes nothing and answers {-2}. The check and the
// write are one script, so concurrent registrations never overshoot.
//
// KEYS: instance hash, service ids, service index[, services, catalog
// index, removed, leases, sequence].
// ARGV: now_us, exp_us, pexpire_ms, instance ID, service, channel,
// grace_ms, max live instances (0: no bound), given index (0: allocate),
// then hash field/value pairs.
// Returns {existed, prev index, index, kind, latest, first, catalog index
// if it moved}, {-1} when the given index is refused, or {-2} when the
// service is full.
var putScript = redis.NewScript(prelude + `
local now = tonumber(ARGV[1])
local live = redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[1], '+inf')
local old = redis.call('HGET', KEYS[1], 'exp_us')
local existed = 0
if old and tonumber(old) > now then existed = 1 end
local cap = tonumber(ARGV[8])
if existed == 0 and cap > 0 and live >= cap then return {-2} end
local prev, idx = svcIndex(KEYS[3], tonumber(ARGV[9]), KEYS[8], now)
if idx < 0 then return {-1} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 10))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
local latest, first = keepIDs(KEYS[2], now, tonumber(ARGV[7]))
redis.call('PERSIST', KEYS[3])
redis.call('PUBLISH', ARGV[6], 's ' .. ARGV[5] .. ' ' .. f(idx))
local kind = 3
if live == 0 then kind = 1 end
local c = 0
if KEYS[4] then c = catalog({KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]}, ARGV[6], ARGV[5], now, kind, idx, latest, first) end
return {existed, prev, idx, kind, latest, first, c}
`)

// renewScript restarts a live instance's lease; no index moves. It
// returns nil when the instance is absent or its lease has ended by the
// caller's clock, else {latest, first, fields} with the fields decodeFields
// reads.
//
// KEYS: instance hash, service ids[, services, catalog index, removed,
// leases, sequence].
// ARGV: now_us, now_ns (the new last_heartbeat), instance ID, service,
// channel, grace_ms, then the field names to return.
var renewScript = redis.NewScript(prelude + `
local now = tonumber(ARGV[1])
local fl = redis.call('HMGET', KEYS[1], 'exp_us', 'ttl_ns')
if not fl[1] or tonumber(fl[1]) <= now then return false end
local ttl_us = math.floor(tonumber(fl[2]) / 1000)
local exp = now + ttl_us
redis.call('HSET', KEYS[1], 'last_heartbeat_ns', ARGV[2], 'exp_us', f(exp))
redis.call('PEXPIRE', KEYS[1], f(math.max(1, math.ceil(ttl_us / 1000))))
redis.call('ZADD', KEYS[2], f(exp), ARGV[3])
local latest, first = keepIDs(KEYS[2], now, tonumber(ARGV[6]))
redis.call('PUBLISH', ARGV[5], 'h ' .. ARGV[4] .. ' ' .. ARGV[3] .. ' ' .. ARGV[2])
if KEYS[3] then catalog({KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]}, ARGV[5], ARGV[4], now, 3, 0, latest, first) end
return {latest, first, redis.call('HMGET', KEYS[1], unpack(ARGV, 7))}
`)

// removeScript deletes one instance, or all of the service's when the ID
// is empty, or (reap) only those whose lease has ended. Ended leases go
// in every mode. When anything went the service's index moves; when
// nothing live is left the service becomes a tombstone: its index key
// outlives it by the tombstone period.
//
// KEYS: service ids, service index[, services, catalog index, removed,
// leases, sequence].
// ARGV: now_us, instance key prefix, service, channel, grace_ms,
// tombstone_ms, mode ("one", "all" or "reap"), instance ID (mode "one"),
// given index (0: allocate).
// Returns {live instances deleted, prev index, index or 0, kind, latest,
// first, catalog index if it moved}, or {-1} when the given index is
// refused.
var removeScript = redis.NewScript(prelude + `
local now = tonumber(ARGV[1])
local ids = {}
if ARGV[7] == 'one' then ids = {ARGV[8]} elseif ARGV[7] == 'all' then ids = redis.call('ZRANGE', KEYS[1], 0, -1) end
local n, gone = 0, 0
for _, id in ipairs(ids) do
  local exp = redis.call('ZSCORE', KEYS[1], id)
  if exp and tonumber(exp) > now then n = n + 1 end
  redis.call('DEL', ARGV[2] .. id)
  gone = gone + redis.call('ZREM', KEYS[1], id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  redis.call('DEL', ARGV[2] .. id)
  gone = gone + redis.call('ZREM', KEYS[1], id)
end
local kind, prev, idx = 0, 0, 0
if gone > 0 then
  prev, idx = svcIndex(KEYS[2], tonumber(ARGV[9]), KEYS[7], now)
  if idx < 0 then return {-1} end
  redis.call('PUBLISH', ARGV[4], 's ' .. ARGV[3] .. ' ' .. f(idx))
  kind = 3
  if redis.call('ZCARD', KEYS[1]) == 0 then
    kind = 2
    redis.call('DEL', KEYS[1])
    redis.call('PEXPIRE', KEYS[2], ARGV[6])
  end
end
local latest, first = keepIDs(KEYS[1], now, tonumber(ARGV[5]))
local c = 0
if KEYS[3] then c = catalog({KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]}, ARGV[4], ARGV[3], now, kind, idx, latest, first) end
return {n, prev, idx, kind, latest, first, c}
`)

// catalogScript is the catalog part of a service script, for a Cluster,
// where the catalog's keys live in another slot than the service's.
//
// KEYS: services, catalog index, removed, leases, sequence.
// ARGV: now_us, service, channel, kind, index, latest, first.
// Returns the catalog index if it moved, else 0.
var catalogScript = redis.NewScript(prelude + `
return catalog(KEYS, ARGV[3], ARGV[2], tonumber(ARGV[1]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]))
`)

// allocScript takes the next index of the catalog's sequence, for a
// service script on a Cluster.
//
// KEYS: sequence. ARGV: now_us.
var allocScript = redis.NewScript(prelude + `
return alloc(KEYS[1], tonumber(ARGV[1]))
`)

// readScript returns a service's index and, for every instance whose
// lease ends after now, the hash fields decodeFields reads (HMGET: values
// only; an instance whose key is gone comes back as all nils). The
// instance keys are built from ARGV[2] (the IDs are only known inside the
// script); they carry the service's hash tag, so the script stays legal
// on a Cluster.
//
// KEYS: service ids, service index.
// ARGV: now_us, instance key prefix, then the field names.
// Returns {index or 0, {fields}, {fields}, ...}.
var readScript = redis.NewScript(`
local out = {tonumber(redis.call('GET', KEYS[2])) or 0}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')) do
  out[#out + 1] = redis.call('HMGET', ARGV[2] .. id, unpack(ARGV, 3))
end
return out
`)

// forgetScript drops the tombstones removed at an index below before and
// raises since to the highest index dropped, so that an unknown service's
// index (since) never goes backwards.
//
// KEYS: removed, since. ARGV: before, channel.
// Returns since.
var forgetScript = redis.NewScript(prelude + `
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'WITHSCORES')
local since = tonumber(redis.call('GET', KEYS[2])) or 1
if #old == 0 then return since end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
since = math.max(since, tonumber(old[#old]))
redis.call('SET', KEYS[2], f(since))
redis.call('PUBLISH', ARGV[2], 'f ' .. f(since))
return since
`)
