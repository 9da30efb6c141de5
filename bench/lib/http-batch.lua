-- wrk script for figure 6: each request is a Segment /v1/batch of 100 track calls with
-- unique message ids, the customers' events drawn from the benchmarked journey like the
-- socket load generator's (docs/http.md). Counts answers by status.
local batch_size = 100
local stage_events = { "ad_impression", "email_open", "landing_home", "product_view", "compare", "payment_done",
    "page_view", "search", "cart_view" }
local threads = {}
local counter = 0

function setup(thread)
    thread:set("id", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    ok, failed, sent = 0, 0, 0
    prefix = "h" .. id .. "-" .. os.time()
    math.randomseed(os.time() * 100 + id)
end

function request()
    counter = counter + 1
    local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
    local messages = {}
    for i = 1, batch_size do
        local customer = math.random(1, 100000)
        messages[i] = string.format(
            '{"type":"track","event":"%s","userId":"%s-c%d","messageId":"%s-%d-%d","timestamp":"%s","properties":{"sku":"S%d"}}',
            stage_events[math.random(1, #stage_events)], prefix, customer, prefix, counter, i, now, customer % 100)
    end
    sent = sent + 1
    return wrk.format("POST", nil, { ["Content-Type"] = "application/json",
        ["Authorization"] = "Basic YmVuY2g6" }, '{"batch":[' .. table.concat(messages, ",") .. ']}')
end

function response(status, headers, body)
    if status == 200 then ok = ok + 1 else failed = failed + 1 end
end

function done(summary, latency, requests)
    local total_ok, total_failed = 0, 0
    for _, thread in ipairs(threads) do
        total_ok = total_ok + thread:get("ok")
        total_failed = total_failed + thread:get("failed")
    end
    io.write(string.format("http_ok_requests=%d\nhttp_failed_requests=%d\nhttp_seconds=%.3f\nhttp_events_per_request=%d\n",
        total_ok, total_failed, summary.duration / 1e6, batch_size))
    io.write(string.format("http_latency_p50_ms=%.1f\nhttp_latency_p99_ms=%.1f\n",
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
