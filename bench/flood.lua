-- Requests with no token, as a hostile client sends them (bench/flood.sh).
wrk.method = "GET"
dofile("bench/report.lua")
