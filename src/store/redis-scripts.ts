/** The Lua scripts RedisKvStore runs (redis-kv.ts): one call admits a turn's requests, one settles them. */

/**
 * All counters of a request are checked and incremented by one Lua script, atomic across every gateway node. The
 * admits of concurrent requests issued in the same event-loop turn travel together in ONE script call (one command,
 * one round trip): each request's checks are a group, and each group is all-or-nothing on its own, exactly as if
 * the requests had been sent one after another.
 * KEYS are the counters' base keys, one per check, group after group; the numbers travel as ONE argument, a JSON
 * array (cjson decodes it in C, several times cheaper for Redis than splitting a string in Lua; sixty-odd separate
 * arguments cost more to encode on the client): per group its number of checks (negative: a group linked to the one
 * before, tried only when that one was admitted), then seven per check: limit, cost, windowMs (0 = plain), the
 * window's bucket index and elapsed ms, ttlMs and initial (plain counters). The reply is, per group, the index of
 * the blocking check (-1 when admitted) then `used, ttl` per check; a linked group that was not tried is just -2.
 * A window's bucket keys are `<base>:<index>`, built here from the base key: that is fine on a single Redis or
 * Sentinel, not on Redis Cluster (see README).
 */
export const ADMIT = `
local f = cjson.decode(ARGV[1])
local out = {}
local p, k0 = 1, 0
local last = -1
while p <= #f do
  local n = f[p]
  local linked = n < 0
  if linked then n = -n end
  if linked and last ~= -1 then
    out[#out + 1] = -2
  else
    -- every counter of the group read with one MGET: a window's current and previous bucket, a plain counter
    local keys, reads = {}, {}
    local nr = 0
    for i = 1, n do
      local a = p + (i - 1) * 7
      local base = KEYS[k0 + i]
      if f[a+3] > 0 then
        keys[i] = base .. ':' .. f[a+4]
        reads[nr + 1] = keys[i]
        reads[nr + 2] = base .. ':' .. (f[a+4] - 1)
        nr = nr + 2
      else
        keys[i] = base
        reads[nr + 1] = base
        nr = nr + 1
      end
    end
    local values = redis.call('MGET', unpack(reads))
    local used, fresh = {}, {}
    local blocked = -1
    local r = 1
    for i = 1, n do
      local a = p + (i - 1) * 7
      local limit, cost, win = f[a+1], f[a+2], f[a+3]
      local u
      if win > 0 then
        local curr = tonumber(values[r] or '0')
        local prev = tonumber(values[r + 1] or '0')
        r = r + 2
        fresh[i] = curr == 0
        u = math.floor(prev * (win - f[a+5]) / win) + curr
      else
        local v = values[r]
        r = r + 1
        fresh[i] = not v
        if v then u = tonumber(v) else u = f[a+7] end
      end
      used[i] = u
      if blocked == -1 and u + cost > limit then blocked = i - 1 end
    end
    out[#out + 1] = blocked
    for i = 1, n do
      local a = p + (i - 1) * 7
      local cost, win, ttl = f[a+2], f[a+3], f[a+6]
      local key = keys[i]
      if blocked == -1 then
        if win > 0 then
          redis.call('INCRBY', key, cost)
          -- a bucket that was empty may be new: it lives two windows (one as current, one as previous)
          if fresh[i] then redis.call('PEXPIRE', key, 2 * win) end
        elseif not fresh[i] then
          redis.call('INCRBY', key, cost)
        elseif ttl > 0 then
          redis.call('SET', key, used[i] + cost, 'PX', ttl)
        else
          redis.call('SET', key, used[i] + cost)
        end
        used[i] = used[i] + cost
      end
      out[#out + 1] = used[i]
      if win > 0 then
        out[#out + 1] = 0
      elseif blocked == -1 and fresh[i] then
        out[#out + 1] = ttl > 0 and ttl or -1
      else
        out[#out + 1] = redis.call('PTTL', key)
      end
    end
    last = blocked
  end
  p = p + 1 + n * 7
  k0 = k0 + n
end
return out
`;

/**
 * Settles several counters in one round trip, and appends the turn's usage events to the usage stream in the same
 * call: KEYS[i] gets the i-th pair of the JSON array ARGV[1] (the delta, then its windowMs; 0 = plain counter); when
 * ARGV[2] (the number of events) is above 0 the last KEY is the stream, ARGV[3] its most entries, and the events
 * follow. A window bucket is created if missing; a plain counter that expired stays absent (it restarts from the
 * database's truth on the next admit, which already counts this request). Events are added in order while the stream
 * has room; the reply is how many were added (the caller spools the rest).
 */
export const SETTLE = `
local f = cjson.decode(ARGV[1])
local nev = tonumber(ARGV[2])
local ncounters = #KEYS
if nev > 0 then ncounters = ncounters - 1 end
for i = 1, ncounters do
  local delta, win = f[2*i-1], f[2*i]
  if win > 0 then
    -- the bucket was empty (maybe absent): give it its two windows of life
    if redis.call('INCRBY', KEYS[i], delta) == delta then redis.call('PEXPIRE', KEYS[i], 2 * win) end
  elseif redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBY', KEYS[i], delta)
  end
end
if nev == 0 then return 0 end
local stream = KEYS[#KEYS]
local room = tonumber(ARGV[3]) - redis.call('XLEN', stream)
local n = nev
if room < n then n = math.max(room, 0) end
for i = 1, n do redis.call('XADD', stream, '*', 'e', ARGV[3 + i]) end
return n
`;
