-- GET one unlimited-read secret with the admin token (env SIRR_TOKEN).
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("SIRR_TOKEN") or "")
dofile("bench/report.lua")
