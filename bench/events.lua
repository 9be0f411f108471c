-- events.lua — wrk: POST /v1/events, each request a new event (bench/events).
--   wrk -t2 -c64 -d10s -s bench/events.lua URL -- TOKEN TAG MEMBERS
-- TOKEN: a bearer access token; TAG: this run's tag, so that event ids
-- never repeat across runs (TAG-THREAD-N, N a counter per thread);
-- MEMBERS: the member is "m" and a number drawn from 1..MEMBERS. The amount
-- is drawn from 100..50,000 minor units, as in the anchor's pgbench script.
-- done() prints "events: created N other M" (201s and everything else),
-- for bench/events to check that every request recorded a new event.
local threads = {}

function setup(thread)
	thread:set("id", #threads + 1)
	table.insert(threads, thread)
end

local token, tag, members, n = nil, nil, 10000, 0
created, other = 0, 0

function init(args)
	token, tag = args[1], args[2]
	members = tonumber(args[3]) or members
	if token == nil or tag == nil then
		error("events.lua: wants TOKEN TAG [MEMBERS] after --")
	end
	math.randomseed(os.time() * 131 + id * 7919)
	wrk.headers["Authorization"] = "Bearer " .. token
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	n = n + 1
	local body = string.format('{"event_id":"%s-%d-%d","type":"purchase",'
	    .. '"member":{"external_id":"m%d"},"amount_minor":%d,'
	    .. '"currency":"USD"}', tag, id, n, math.random(1, members),
	    math.random(100, 50000))
	return wrk.format("POST", "/v1/events", nil, body)
end

function response(status, headers, body)
	if status == 201 then
		created = created + 1
	else
		other = other + 1
	end
end

function done(summary, latency, requests)
	local c, o = 0, 0
	for _, t in ipairs(threads) do
		c = c + t:get("created")
		o = o + t:get("other")
	end
	io.write(string.format("events: created %d other %d\n", c, o))
end
