/* The libkperf task model (kperf.h >>task): counting (flat records over pids and CPUs,
 * group numbers, include_new_fork), sampling, syscall tracing, and a kind from a source
 * hook (SPE's shape), all read as the same kperf_task_data rows. */
#define _GNU_SOURCE 1
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_spe.h"
#include "kt.h"
#include "kt_exit_read.h"
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 1000
#define GETPID "syscalls:sys_enter_getpid"

static bool have_tracefs(void) {
    return access("/sys/kernel/tracing/events/syscalls/sys_enter_getpid/id", R_OK) == 0;
}

/* This process's name ("test_task", or valgrind's while under it). */
static const char *self_comm(void) {
    static char buf[32];
    FILE *f = fopen("/proc/self/comm", "r");
    if (!f || !fgets(buf, sizeof buf, f)) buf[0] = 0;
    if (f) fclose(f);
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}

static void getpids(int n) {
    for (int i = 0; i < n; i++) syscall(SYS_getpid);
}

KT_TEST(group_numbers_make_the_spec) {
    KT_UNUSED();
    const char *ev[] = {"a", "b", "c", "d", "e"};
    int groups[] = {1, -1, 1, 7, 7};
    kperf_task_attr a = {.events = ev, .nevents = 5, .groups = groups};
    char *spec;
    const char **names;
    int *gr;
    KT_EQ_INT(kperf__task_spec(&a, true, &spec, &names, &gr), 0);
    KT_EQ_STR(spec, "{a,c},b,{d,e}");
    KT_EQ_STR(names[0], "a");
    KT_EQ_STR(names[1], "c");
    KT_EQ_STR(names[2], "b");
    KT_EQ_STR(names[4], "e");
    KT_EQ_INT(gr[0], 1);
    KT_EQ_INT(gr[1], 1);
    KT_EQ_INT(gr[2], -1);
    KT_EQ_INT(gr[4], 7);
    KPERF_FREE(spec), KPERF_FREE(names), KPERF_FREE(gr);
    /* sampling: no groups, the caller's order, each event keeps its number */
    KT_EQ_INT(kperf__task_spec(&a, false, &spec, &names, &gr), 0);
    KT_EQ_STR(spec, "a,b,c,d,e");
    KT_EQ_INT(gr[1], -1);
    KT_EQ_INT(gr[2], 1);
    KT_EQ_STR(names[2], "c");
    KPERF_FREE(spec), KPERF_FREE(names), KPERF_FREE(gr);
    /* a group number used once is no group; no group array: every event alone */
    int lone[] = {3, -1, 4, -1, -1};
    a.groups = lone;
    KT_EQ_INT(kperf__task_spec(&a, true, &spec, &names, &gr), 0);
    KT_EQ_STR(spec, "a,b,c,d,e");
    KPERF_FREE(spec), KPERF_FREE(names), KPERF_FREE(gr);
}

KT_TEST(counting_a_child_process) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    int go[2], done[2];
    KT_CHECK(pipe(go) == 0 && pipe(done) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        char x;
        prctl(PR_SET_NAME, "kt_child");
        if (read(go[0], &x, 1) != 1) _exit(1);
        getpids(N);
        if (write(done[1], &x, 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    usleep(20000); /* let the child set its name */
    const char *ev[] = {GETPID, "page-faults", "task-clock"};
    int groups[] = {0, -1, 0};
    kperf_task *t;
    int rc = kperf_task_open(&t, KPERF_TASK_COUNTING,
                             &(kperf_task_attr){.events = ev, .nevents = 3, .groups = groups,
                                                .pids = &pid, .npids = 1});
    if (rc < 0) {
        kill(pid, SIGKILL), waitpid(pid, NULL, 0);
        KT_FAIL("open: %s", kperf_errmsg());
    }
    KT_EQ_INT(kperf_task_start(t), 0);
    char x = 1;
    KT_CHECK(write(go[1], &x, 1) == 1 && read(done[0], &x, 1) == 1);
    kperf_task_data *d;
    int n = kperf_task_read(t, &d);
    KT_EQ_INT(n, 3);
    int seen = 0;
    for (int i = 0; i < n; i++) {
        KT_EQ_INT(d[i].pid, pid);
        KT_EQ_INT(d[i].tid, pid);
        KT_EQ_INT(d[i].cpu, -1);
        KT_EQ_INT(d[i].topo.socket, -1);
        KT_EQ_STR(d[i].comm, "kt_child");
        KT_CHECK(d[i].percent == 100.0);
        KT_CHECK(!d[i].exited);
        if (!strcmp(d[i].event, GETPID)) {
            KT_EQ_INT(d[i].count, N);
            KT_EQ_INT(d[i].total, N);
            seen++;
        }
    }
    KT_EQ_INT(seen, 1);
    /* the group {getpid, task-clock} comes first, as libkperf's evtAttr asks */
    KT_EQ_STR(d[0].event, GETPID);
    KT_EQ_STR(d[1].event, "task-clock");
    KT_EQ_STR(d[2].event, "page-faults");
    kperf_task_data_free(d);
    /* a second read: count is what happened since the first, total since the open */
    n = kperf_task_read(t, &d);
    KT_EQ_INT(n, 3);
    KT_EQ_INT(d[0].count, 0);
    KT_EQ_INT(d[0].total, N);
    kperf_task_data_free(d);
    KT_EQ_INT(kperf_task_stop(t), 0);
    kperf_task_close(t);
    kill(pid, SIGKILL), waitpid(pid, NULL, 0);
}

static void *worker(void *arg) {
    (void)arg;
    getpids(N);
    return NULL;
}

KT_TEST(include_new_fork_splits_threads) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    if (kt_exit_read_works() == 0) KT_SKIP(KT_EXIT_READ_WHY);
    const char *ev[] = {GETPID};
    pid_t self = getpid();
    kperf_task *t;
    int rc = kperf_task_open(&t, KPERF_TASK_COUNTING,
                             &(kperf_task_attr){.events = ev, .nevents = 1, .pids = &self,
                                                .npids = 1, .include_new_fork = true});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    KT_EQ_INT(kperf_task_start(t), 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, worker, NULL);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    KT_EQ_INT(kperf_task_stop(t), 0);
    kperf_task_data *d;
    int n = kperf_task_read(t, &d);
    KT_CHECK(n >= 5, "%d records", n);
    int exited = 0;
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        sum += d[i].total;
        if (!d[i].exited) continue;
        exited++;
        KT_EQ_INT(d[i].pid, self);
        KT_EQ_INT(d[i].count, N);
        KT_EQ_STR(d[i].comm, "test_task"); /* the thread is gone: its process's name */
    }
    KT_EQ_INT(exited, 4);
    KT_EQ_INT(sum, 4 * N);
    kperf_task_data_free(d);
    kperf_task_close(t);
}

KT_TEST(cpu_wide_records_carry_topology) {
    kperf_perm pm;
    kperf_perm_read(&pm);
    if (!pm.cpu_wide) KT_SKIP("CPU-wide counting needs paranoid <= 0 (is %d)", pm.paranoid);
    const char *ev[] = {"task-clock"};
    kperf_task *t;
    int rc = kperf_task_open(&t, KPERF_TASK_COUNTING, &(kperf_task_attr){.events = ev, .nevents = 1});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    kperf_task_start(t);
    usleep(10000);
    kperf_task_data *d;
    int n = kperf_task_read(t, &d);
    KT_EQ_INT(n, sysconf(_SC_NPROCESSORS_ONLN));
    kperf_topology *topo;
    KT_EQ_INT(kperf_topology_open(&topo, "/"), 0);
    for (int i = 0; i < n; i++) {
        kperf_cpu_topo want;
        KT_EQ_INT(d[i].cpu, i);
        KT_EQ_INT(d[i].pid, -1);
        KT_EQ_INT(kperf_topology_cpu(topo, i, &want), 0);
        KT_EQ_INT(d[i].topo.core, want.core);
        KT_EQ_INT(d[i].topo.socket, want.socket);
        KT_EQ_INT(d[i].topo.numa, want.numa);
        KT_EQ_STR(d[i].comm, "");
        KT_CHECK(d[i].total > 0); /* wall time on every CPU, idle included */
    }
    kperf_topology_close(topo);
    kperf_task_data_free(d);
    kperf_task_close(t);
}

/* SAMPLING: every getpid of this process is one sample (period 1 on the tracepoint):
 * exactly N rows, named as given, with this process's ids, its name, the raw record and
 * the sampled ip; the array outlives the task. */
KT_TEST(sampling_getpid_rows) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    const char *ev[] = {GETPID};
    int groups[] = {5};
    pid_t self = getpid();
    kperf_task *t;
    int rc = kperf_task_open(&t, KPERF_TASK_SAMPLING,
                             &(kperf_task_attr){.events = ev, .nevents = 1, .groups = groups,
                                                .pids = &self, .npids = 1, .period = 1,
                                                .callchain = 1});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    KT_EQ_INT(kperf_task_get_kind(t), KPERF_TASK_SAMPLING);
    KT_EQ_INT(kperf_task_start(t), 0);
    getpids(N);
    KT_EQ_INT(kperf_task_stop(t), 0);
    kperf_task_data *d;
    int n = kperf_task_read(t, &d);
    kperf_task_close(t); /* the rows do not depend on the task */
    KT_EQ_INT(n, N);
    for (int i = 0; i < n; i++) {
        KT_EQ_STR(d[i].event, GETPID);
        KT_EQ_INT(d[i].group, 5);
        KT_EQ_INT(d[i].pid, self);
        KT_EQ_INT(d[i].tid, self);
        KT_EQ_INT(d[i].period, 1);
        KT_EQ_INT(d[i].count, 1);
        KT_EQ_STR(d[i].comm, self_comm());
        KT_CHECK(d[i].cpu >= 0 && d[i].topo.cpu == d[i].cpu, "cpu %d topo %d", d[i].cpu,
                 d[i].topo.cpu);
        KT_CHECK(d[i].raw && d[i].raw_size > 8, "raw %u bytes", d[i].raw_size);
        KT_CHECK(d[i].nips >= 1 && d[i].ips && d[i].ips[0] < KPERF_CONTEXT_MAX);
        KT_CHECK(d[i].sample == NULL);
        if (i) KT_CHECK(d[i].ts >= d[i - 1].ts);
    }
    kperf_task_data_free(d);
}

/* TRACING: N getpid calls are N rows named "getpid" returning this pid. */
KT_TEST(tracing_getpid_rows) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    const char *calls[] = {"getpid"};
    pid_t self = getpid();
    kperf_task *t;
    int rc = kperf_task_open(&t, KPERF_TASK_TRACING,
                             &(kperf_task_attr){.syscalls = calls, .nsyscalls = 1,
                                                .pids = &self, .npids = 1});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    KT_EQ_INT(kperf_task_start(t), 0);
    getpids(N);
    KT_EQ_INT(kperf_task_stop(t), 0);
    kperf_task_data *d;
    int n = kperf_task_read(t, &d);
    KT_EQ_INT(n, N);
    for (int i = 0; i < n; i++) {
        KT_EQ_STR(d[i].event, "getpid");
        KT_EQ_INT(d[i].pid, self);
        KT_EQ_INT(d[i].tid, self);
        KT_EQ_INT(d[i].ret, self);
        KT_EQ_STR(d[i].comm, self_comm());
    }
    kperf_task_data_free(d);
    KT_EQ_INT(kperf_task_read(t, &d), 0); /* read once */
    KT_CHECK(d == NULL);
    kperf_task_close(t);
}

/* A kind from a source hook (the shape of kperf_spe_task_source()): its rows pass through
 * kperf_task_read_each() and kperf_task_read() with topology and comm filled in. */
typedef struct fake_src {
    int started, stopped, closed;
    uint32_t min_latency;
} fake_src;
static fake_src fake;

static int fake_open(void **state, const kperf_task_attr *a) {
    fake.min_latency = a->spe_min_latency;
    *state = &fake;
    return 0;
}
static int fake_start(void *state) { return ((fake_src *)state)->started++, 0; }
static int fake_stop(void *state) { return ((fake_src *)state)->stopped++, 0; }
static int fake_read(void *state, kperf_task_fn fn, void *user) {
    (void)state;
    static const uint64_t pc = 0x401000;
    kperf_task_data x;
    memset(&x, 0, sizeof x);
    x.event = "spe", x.pid = getpid(), x.tid = getpid(), x.cpu = 0, x.group = -1;
    x.ips = &pc, x.nips = 1, x.addr = 0x7000, x.phys_addr = 0x9000, x.events = 0x8;
    x.latency = 40, x.count = 1, x.percent = 100.0;
    for (int i = 0; i < 3; i++) {
        x.ts = (uint64_t)i;
        int rc = fn(&x, user);
        if (rc < 0) return rc;
    }
    return 3;
}
static void fake_close(void *state) { ((fake_src *)state)->closed++; }
static const kperf_task_source fake_source = {fake_open, fake_start, fake_stop, fake_read,
                                              fake_close};

static int stop_at_two(const kperf_task_data *row, void *user) {
    int *seen = (int *)user;
    return ++*seen == 2 ? -1000 : (row->topo.cpu == 0 ? 0 : -2000);
}

KT_TEST(source_hook_rows) {
    KT_UNUSED();
    kperf_task *t;
    KT_EQ_INT(kperf_task_open(&t, KPERF_TASK_SPE_SAMPLING,
                              &(kperf_task_attr){.source = &fake_source, .spe_min_latency = 33}),
              0);
    KT_EQ_INT(fake.min_latency, 33);
    KT_EQ_INT(kperf_task_start(t), 0);
    KT_EQ_INT(kperf_task_stop(t), 0);
    KT_EQ_INT(fake.started, 1);
    KT_EQ_INT(fake.stopped, 1);
    kperf_task_data *d;
    KT_EQ_INT(kperf_task_read(t, &d), 3);
    for (int i = 0; i < 3; i++) {
        KT_EQ_STR(d[i].event, "spe");
        KT_EQ_INT(d[i].ts, i);
        KT_EQ_INT(d[i].ips[0], 0x401000);
        KT_EQ_INT(d[i].addr, 0x7000);
        KT_EQ_INT(d[i].phys_addr, 0x9000);
        KT_EQ_INT(d[i].latency, 40);
        KT_EQ_INT(d[i].topo.cpu, 0);
        KT_EQ_STR(d[i].comm, self_comm());
    }
    kperf_task_data_free(d);
    int seen = 0;
    KT_EQ_INT(kperf_task_read_each(t, stop_at_two, &seen), -1000); /* the callback stops it */
    KT_EQ_INT(seen, 2);
    kperf_task_close(t);
    KT_EQ_INT(fake.closed, 1);
}

/* SPE without its source is a clear error; with kperf_spe.h's source on a machine without
 * an arm_spe PMU it is the SPE section's error. */
KT_TEST(spe_needs_its_source) {
    KT_UNUSED();
    kperf_task *t;
    KT_EQ_INT(kperf_task_open(&t, KPERF_TASK_SPE_SAMPLING, &(kperf_task_attr){0}),
              -KPERF_ENOTSUP);
    KT_CHECK(strstr(kperf_errmsg(), "kperf_spe_task_source") != NULL, "%s", kperf_errmsg());
    if (access("/sys/bus/event_source/devices/arm_spe_0", F_OK) == 0) return;
    int rc = kperf_task_open(&t, KPERF_TASK_SPE_SAMPLING,
                             &(kperf_task_attr){.source = kperf_spe_task_source()});
    KT_EQ_INT(rc, -KPERF_ENOTSUP);
    KT_CHECK(t == NULL);
}

KT_TEST(task_errors) {
    KT_UNUSED();
    kperf_task *t = (kperf_task *)1;
    const char *ev[] = {"task-clock"};
    KT_EQ_INT(kperf_task_open(&t, KPERF_TASK_COUNTING, &(kperf_task_attr){0}), -EINVAL);
    KT_CHECK(t == NULL);
    int rc = kperf_task_open(&t, (kperf_task_kind)9, &(kperf_task_attr){.events = ev, .nevents = 1});
    KT_EQ_INT(rc, -KPERF_ENOTSUP);
    const char *bad[] = {"task-clokc"};
    pid_t self = getpid();
    rc = kperf_task_open(&t, KPERF_TASK_COUNTING,
                         &(kperf_task_attr){.events = bad, .nevents = 1, .pids = &self, .npids = 1});
    KT_EQ_INT(rc, -KPERF_ENOEVENT);
    KT_CHECK(strstr(kperf_errmsg(), "did you mean task-clock?") != NULL);
    kperf_task_close(NULL);
    kperf_task_data_free(NULL);
}

int main(void) {
    KT_RUN(group_numbers_make_the_spec);
    KT_RUN(counting_a_child_process);
    KT_RUN(include_new_fork_splits_threads);
    KT_RUN(cpu_wide_records_carry_topology);
    KT_RUN(sampling_getpid_rows);
    KT_RUN(tracing_getpid_rows);
    KT_RUN(source_hook_rows);
    KT_RUN(spe_needs_its_source);
    KT_RUN(task_errors);
    KT_EXIT();
}
