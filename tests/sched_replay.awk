# kperf's run-delay pairing replayed over `perf script -F trace` (time order): a switch-in
# ends the pending start of its pid; a start is a wake-up (or wakeup_new) of that pid, or
# its switch-out while still runnable (R, R+). The tasks: comm=pingpong, or with -v
# pids="P ..." those pids whatever their comm.
BEGIN { n = split(pids, a, " "); for (i = 1; i <= n; i++) want[a[i] + 0] = 1 }
function ours(comm, pid) { return n ? (pid in want) : comm == "pingpong" }
/ ==> / {
    split($0, side, " ==> ")
    nc = side[2]; sub(/.*next_comm=/, "", nc); sub(/ next_pid=.*/, "", nc)
    np = side[2]; sub(/.*next_pid=/, "", np); np += 0
    if (ours(nc, np) && pend[np]) { m++; pend[np] = 0 }
    pc = side[1]; sub(/.*prev_comm=/, "", pc); sub(/ prev_pid=.*/, "", pc)
    pp = side[1]; sub(/.*prev_pid=/, "", pp); pp += 0
    st = side[1]; sub(/.*prev_state=/, "", st)
    if (ours(pc, pp) && st ~ /^R/) pend[pp] = 1
    next
}
/^comm=.* pid=[0-9]+ prio=/ {
    c = $0; sub(/^comm=/, "", c); sub(/ pid=[0-9]+ prio=.*/, "", c)
    p = $0; sub(/.* pid=/, "", p); p += 0
    if (ours(c, p)) pend[p] = 1
}
END { print m + 0 }
