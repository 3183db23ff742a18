-- POST one key operation per request: path and JSON body from env OP_PATH / OP_BODY, bearer
-- token from SIRR_TOKEN.
wrk.method = "POST"
wrk.path = os.getenv("OP_PATH")
wrk.body = os.getenv("OP_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("SIRR_TOKEN") or "")
dofile("bench/report.lua")
