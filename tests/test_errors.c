/* Error diagnosis: every failure names the event, the target and the fix, with its code. */
#define _GNU_SOURCE 1
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kt.h"
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define HAS(s) (strstr(kperf_errmsg(), (s)) != NULL)

KT_TEST(cycles_without_hardware_pmu) {
    kperf_pmus *pmus;
    KT_EQ_INT(kperf_pmus_open(&pmus, "/"), 0);
    bool hw = kperf__has_hw_pmu(pmus);
    kperf_pmus_close(pmus);
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = "cycles"});
    if (hw) {
        /* the diagnosis does not apply where a hardware PMU exists: cycles must open */
        KT_EQ_INT(rc, 0);
        kperf_counter_close(c);
        KT_SKIP("this machine exposes a hardware PMU; cycles opened (diagnosis not applicable)");
    }
    KT_EQ_INT(rc, -KPERF_ENOTSUP);
    KT_CHECK(c == NULL);
    KT_CHECK(HAS("cycles: not supported here: no hardware PMU is exposed (virtual machine?)"),
             "%s", kperf_errmsg());
    KT_EQ_INT(kperf_errcode(), -KPERF_ENOTSUP);
}

KT_TEST(pid_that_does_not_exist) {
    KT_UNUSED();
    pid_t pid = 4999999; /* above pid_max's ceiling (4194304) */
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.pids = &pid, .npids = 1});
    KT_EQ_INT(rc, -KPERF_ENOTARGET);
    KT_EQ_STR(kperf_errmsg(), "pid 4999999 does not exist or exited");
    rc = kperf_counter_open(&c, &(kperf_counter_desc){.tids = &pid, .ntids = 1});
    KT_EQ_INT(rc, -KPERF_ENOTARGET);
    KT_EQ_STR(kperf_errmsg(), "tid 4999999 does not exist or exited");
    /* the kernel's ESRCH (a target that exits between listing and opening) */
    rc = kperf__open_error(ESRCH, NULL, NULL, 12345, -1, NULL);
    KT_EQ_INT(rc, -KPERF_ENOTARGET);
    KT_CHECK(HAS("pid 12345 does not exist or exited"), "%s", kperf_errmsg());
}

KT_TEST(low_rlimit_nofile) {
    KT_UNUSED();
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = 16;
    KT_CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    char spec[1024] = "task-clock";
    for (int i = 0; i < 40; i++) strcat(spec, ",task-clock");
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = spec});
    setrlimit(RLIMIT_NOFILE, &old);
    KT_EQ_INT(rc, -KPERF_ELIMIT);
    KT_CHECK(HAS("RLIMIT_NOFILE is 16 (ulimit -n)"), "%s", kperf_errmsg());
    KT_CHECK(HAS("this counter needs 41 fds"), "%s", kperf_errmsg());
    /* nothing leaked: the fds opened before the failure are closed again */
    int fd = dup(0);
    KT_CHECK(fd >= 0 && fd < 16, "fd %d", fd);
    close(fd);
}

KT_TEST(kernel_messages_name_event_and_fix) {
    KT_UNUSED();
    kperf_event ev;
    memset(&ev, 0, sizeof ev);
    ev.name = (char *)"hisi_sccl1_ddrc0/flux_rd/";
    ev.pmu = (char *)"hisi_sccl1_ddrc0";
    ev.type = 42;
    int rc = kperf__open_error(ENODEV, &ev, NULL, -1, 7, NULL);
    KT_EQ_INT(rc, -KPERF_ENOTSUP);
    KT_CHECK(HAS("hisi_sccl1_ddrc0/flux_rd/: PMU hisi_sccl1_ddrc0 cannot count on cpu 7"),
             "%s", kperf_errmsg());
    rc = kperf__open_error(EOPNOTSUPP, &ev, NULL, 100, -1, NULL);
    KT_EQ_INT(rc, -KPERF_ENOTSUP);
    KT_CHECK(HAS("does not support this mode (pid 100, cpu -1)"), "%s", kperf_errmsg());
    rc = kperf__open_error(EBUSY, &ev, NULL, -1, 0, NULL);
    KT_EQ_INT(rc, -EBUSY);
    KT_CHECK(HAS("kernel.nmi_watchdog=0"), "%s", kperf_errmsg());
    rc = kperf__open_error(EINVAL, &ev, NULL, -1, 4000, NULL);
    KT_EQ_INT(rc, -EINVAL);
    KT_CHECK(HAS("cpu 4000 does not exist"), "%s", kperf_errmsg());
    rc = kperf__open_error(EINVAL, &ev, NULL, -1, 0, NULL);
    KT_CHECK(HAS("rejected the attribute (EINVAL): pmu hisi_sccl1_ddrc0 type 42"), "%s",
             kperf_errmsg());
    rc = kperf__open_error(EMFILE, &ev, NULL, 0, -1, NULL);
    KT_EQ_INT(rc, -KPERF_ELIMIT);
    KT_CHECK(HAS("RLIMIT_NOFILE"), "%s", kperf_errmsg());
}

/* Runs build/progs/count_unpriv as uid/gid 65534 and returns its output line. */
static int run_unpriv(const char *arg, const char *arg2, char *out, size_t size) {
    char cmd[512];
    const char *b = getenv("KPERF_BUILD") ? getenv("KPERF_BUILD") : "build";
    snprintf(cmd, sizeof cmd,
             "setpriv --reuid=65534 --regid=65534 --clear-groups %s/progs/count_unpriv %s %s 2>&1",
             b, arg, arg2 ? arg2 : "");
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    out[0] = 0;
    if (!fgets(out, (int)size, p)) out[0] = 0;
    return pclose(p);
}

KT_TEST(unprivileged_paranoid_and_capability) {
    kperf_perm pm;
    kperf_perm_read(&pm);
    if (geteuid() != 0) KT_SKIP("needs root to switch to an unprivileged user with setpriv");
    if (access("/usr/bin/setpriv", X_OK) != 0) KT_SKIP("setpriv (util-linux) not installed");
    char out[2048];
    run_unpriv("user", NULL, out, sizeof out);
    if (pm.paranoid > 2) {
        KT_CHECK(strstr(out, "perf_event_paranoid is"), "%s", out);
        KT_SKIP("perf_event_paranoid is %d: unprivileged users cannot count at all", pm.paranoid);
    }
    KT_EQ_STR(out, "ok\n");
    if (pm.paranoid < 2) KT_SKIP("perf_event_paranoid is %d (< 2): kernel counting allowed",
                                 pm.paranoid);
    run_unpriv("kernel", NULL, out, sizeof out);
    char want[256];
    snprintf(want, sizeof want, "-%d ", KPERF_EPARANOID);
    KT_CHECK(!strncmp(out, want, strlen(want)), "%s", out);
    KT_CHECK(strstr(out, "task-clock (pid "), "%s", out);
    KT_CHECK(strstr(out, "/proc/sys/kernel/perf_event_paranoid is 2, and counting kernel space "
                         "(include_kernel or :k) needs 1 or lower: run `sysctl "
                         "kernel.perf_event_paranoid=1` as root, count user space only (:u), "
                         "or give the program CAP_PERFMON"),
             "%s", out);
    run_unpriv("allcpus", NULL, out, sizeof out);
    KT_CHECK(!strncmp(out, want, strlen(want)), "%s", out);
    KT_CHECK(strstr(out, "counting every task on a CPU (-a, a cpu list, uncore) needs 0 or "
                         "lower: run `sysctl kernel.perf_event_paranoid=0`"),
             "%s", out);
    run_unpriv("pid", "1", out, sizeof out);
    snprintf(want, sizeof want, "-%d ", KPERF_ENOCAP);
    KT_CHECK(!strncmp(out, want, strlen(want)), "%s", out);
    KT_CHECK(strstr(out, "pid 1 belongs to uid 0, not to you (uid 65534): measuring another "
                         "user's process needs CAP_PERFMON (or CAP_SYS_PTRACE)"),
             "%s", out);
}

KT_TEST(perm_read) {
    KT_UNUSED();
    kperf_perm pm;
    KT_EQ_INT(kperf_perm_read(&pm), 0);
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int want = 3;
    if (f) {
        if (fscanf(f, "%d", &want) != 1) want = 3;
        fclose(f);
    }
    KT_EQ_INT(pm.paranoid, want);
    if (geteuid() == 0) KT_CHECK(pm.cap_sys_admin && pm.kernel && pm.cpu_wide);
}

KT_TEST(unknown_event_and_malformed_spec) {
    KT_UNUSED();
    kperf_counter *c = (kperf_counter *)1;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = "task-clokc"});
    KT_EQ_INT(rc, -KPERF_ENOEVENT);
    KT_CHECK(c == NULL);
    KT_EQ_STR(kperf_errmsg(), "task-clokc: unknown event; did you mean task-clock?");
    rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = "{task-clock,page-faults"});
    KT_EQ_INT(rc, -KPERF_EPARSE);
    KT_CHECK(HAS("expected '}' at position 23"), "%s", kperf_errmsg());
    rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = "task-clock:zz"});
    KT_EQ_INT(rc, -KPERF_EPARSE);
    KT_CHECK(HAS("unknown modifier 'z'") && HAS("at position 11"), "%s", kperf_errmsg());
}

int main(void) {
    KT_RUN(cycles_without_hardware_pmu);
    KT_RUN(pid_that_does_not_exist);
    KT_RUN(low_rlimit_nofile);
    KT_RUN(kernel_messages_name_event_and_fix);
    KT_RUN(unprivileged_paranoid_and_capability);
    KT_RUN(perm_read);
    KT_RUN(unknown_event_and_malformed_spec);
    KT_EXIT();
}
