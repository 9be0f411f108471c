-- count.lua — wrk stops each thread after a fixed number of responses
-- (wrk has no -n). bench/run passes the per-thread count after "--":
--   wrk -t2 -c64 -d120s -s bench/count.lua URL -- 5000
-- A few more responses than asked may arrive from connections that were
-- in flight when a thread stopped; bench/run reads the exact number served
-- from loyaltyd's /status.
local limit, seen = 0, 0

function init(args)
	limit = tonumber(args[1]) or 0
end

function response(status, headers, body)
	seen = seen + 1
	if limit > 0 and seen >= limit then
		wrk.thread:stop()
	end
end
