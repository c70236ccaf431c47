/* Counting: exact tracepoint and software counts over every kind of target. */
#define _GNU_SOURCE 1
#include "kperf.h"
#include "kt.h"
#include "kt_exit_read.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 1000
#define GETPID "syscalls:sys_enter_getpid"

static void getpids(int n) {
    for (int i = 0; i < n; i++) syscall(SYS_getpid);
}

static bool have_tracefs(void) {
    return access("/sys/kernel/tracing/events/syscalls/sys_enter_getpid/id", R_OK) == 0;
}

/* The value of event @p name in a read, or -1. */
static double count_of(const kperf_counts *n, const char *name) {
    for (size_t i = 0; i < n->nevents; i++)
        if (!strcmp(n->events[i].name, name)) return n->events[i].v.value;
    return -1;
}

KT_TEST(getpid_exact_self) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = GETPID});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    kperf_counts n;
    KT_EQ_INT(kperf_counter_start(c), 0);
    getpids(N);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    getpids(7); /* stopped: not counted */
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    KT_EQ_INT(n.nevents, 1);
    KT_EQ_INT(n.events[0].v.raw, N);
    KT_EQ_INT(n.events[0].v.accuracy, KPERF_COUNT_EXACT);
    KT_CHECK(n.events[0].v.percent == 100.0);
    KT_EQ_INT(n.nrows, 1);
    KT_EQ_INT(n.rows[0].tid, syscall(SYS_gettid));
    KT_EQ_INT(n.rows[0].pid, getpid());
    KT_EQ_INT(n.rows[0].cpu, -1);
    /* interval reads: the delta is what happened since the previous read */
    KT_EQ_INT(kperf_counter_start(c), 0);
    getpids(N / 2);
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    KT_EQ_INT(n.events[0].v.raw, N + N / 2);
    KT_CHECK(n.events[0].v.delta == N / 2, "delta %f", n.events[0].v.delta);
    getpids(3);
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    KT_CHECK(n.events[0].v.delta == 3, "delta %f", n.events[0].v.delta);
    KT_CHECK(n.interval_ns > 0);
    /* reset zeroes the totals */
    KT_EQ_INT(kperf_counter_reset(c), 0);
    getpids(5);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    KT_EQ_INT(n.events[0].v.raw, 5);
    kperf_counter_close(c);
}

/* A tracepoint filter is applied in the kernel when counting (PERF_EVENT_IOC_SET_FILTER):
 * only the writes to one fd count; a filter the kernel rejects fails the open with its
 * reason. */
KT_TEST(tracepoint_filter_counted) {
    if (access("/sys/kernel/tracing/events/syscalls/sys_enter_write/id", R_OK) != 0)
        KT_SKIP("tracefs syscalls events not readable");
    int a = open("/dev/null", O_WRONLY | O_CLOEXEC), b = open("/dev/null", O_WRONLY | O_CLOEXEC);
    KT_CHECK(a >= 0 && b >= 0);
    char spec[128];
    snprintf(spec, sizeof spec, "syscalls:sys_enter_write/fd==%d/,syscalls:sys_enter_write", a);
    kperf_counter *c;
    if (kperf_counter_open(&c, &(kperf_counter_desc){.events = spec}) < 0)
        KT_FAIL("open: %s", kperf_errmsg());
    KT_EQ_INT(kperf_counter_start(c), 0);
    for (int i = 0; i < 30; i++) KT_CHECK(write(a, "x", 1) == 1);
    for (int i = 0; i < 70; i++) KT_CHECK(write(b, "x", 1) == 1);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    kperf_counts n;
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    KT_EQ_INT(n.events[0].v.raw, 30);
    KT_EQ_INT(n.events[1].v.raw, 100);
    kperf_counter_close(c);
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){
                                        .events = "syscalls:sys_enter_write/no_such==1/"});
    KT_EQ_INT(rc, -KPERF_EFILTER);
    KT_CHECK(c == NULL);
    KT_CHECK(strstr(kperf_errmsg(), "rejected filter 'no_such==1'") != NULL, "%s", kperf_errmsg());
    close(a), close(b);
}

KT_TEST(group_one_read_four_events) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    kperf_counter *c;
    int rc = kperf_counter_open(
        &c, &(kperf_counter_desc){.events = "{" GETPID ",task-clock,page-faults,minor-faults}"});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    KT_EQ_INT(kperf_counter_nfds(c), 4);
    size_t pages = 64, psz = (size_t)sysconf(_SC_PAGESIZE);
    KT_EQ_INT(kperf_counter_start(c), 0);
    getpids(N);
    char *m = (char *)mmap(NULL, pages * psz, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < pages; i++) m[i * psz] = 1;
    KT_EQ_INT(kperf_counter_stop(c), 0);
    munmap(m, pages * psz);
    kperf_counts n;
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    KT_EQ_INT(n.nevents, 4);
    KT_CHECK(count_of(&n, GETPID) == N);
    KT_CHECK(count_of(&n, "page-faults") >= (double)pages, "%f", count_of(&n, "page-faults"));
    KT_CHECK(count_of(&n, "minor-faults") >= (double)pages);
    KT_CHECK(count_of(&n, "task-clock") > 0);
    for (size_t i = 0; i < n.nevents; i++) KT_EQ_INT(n.events[i].v.accuracy, KPERF_COUNT_EXACT);
    kperf_counter_close(c);
}

static void *thread_getpids(void *arg) {
    (void)arg;
    getpids(N);
    return NULL;
}

KT_TEST(inherit_four_threads_per_thread_split) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    if (kt_exit_read_works() == 0) KT_SKIP(KT_EXIT_READ_WHY);
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = GETPID, .per_thread = true});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    KT_EQ_INT(kperf_counter_start(c), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_getpids, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    kperf_counts n;
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    KT_EQ_INT(n.events[0].v.raw, 4 * N);
    KT_EQ_INT(n.lost, 0);
    /* rows for this thread (one per CPU, nothing left: it made no getpid call), then one
     * row per exited thread */
    double sum = 0;
    int exited = 0;
    for (size_t i = 0; i < n.nrows; i++) {
        KT_EQ_INT(n.rows[i].pid, getpid());
        if (!n.rows[i].exited) {
            KT_EQ_INT(n.rows[i].tid, syscall(SYS_gettid));
            KT_EQ_INT(n.rows[i].v.raw, 0);
            continue;
        }
        exited++;
        KT_CHECK(n.rows[i].tid != syscall(SYS_gettid));
        KT_EQ_INT(n.rows[i].v.raw, N);
        KT_EQ_INT(n.rows[i].v.accuracy, KPERF_COUNT_EXACT);
        sum += n.rows[i].v.value;
    }
    KT_EQ_INT(exited, 4);
    /* a reset forgets the exited threads; counting goes on from zero */
    KT_EQ_INT(kperf_counter_reset(c), 0);
    KT_EQ_INT(kperf_counter_start(c), 0);
    pthread_create(&t[0], NULL, thread_getpids, NULL);
    pthread_join(t[0], NULL);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    KT_EQ_INT(n.events[0].v.raw, N);
    KT_CHECK(n.events[0].v.delta == N, "delta %f after reset", n.events[0].v.delta);
    exited = 0;
    for (size_t i = 0; i < n.nrows; i++) {
        if (!n.rows[i].exited) continue;
        exited++;
        KT_EQ_INT(n.rows[i].v.raw, N);
    }
    KT_EQ_INT(exited, 1);
    KT_CHECK(sum == 4 * N);
    kperf_counter_close(c);
}

KT_TEST(inherit_without_split_counts_all) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = GETPID, .inherit = true});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    KT_EQ_INT(kperf_counter_start(c), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_getpids, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    getpids(N);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    kperf_counts n;
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    KT_EQ_INT(n.events[0].v.raw, 5 * N);
    KT_EQ_INT(n.nrows, 1);
    kperf_counter_close(c);
}

/* Pipe ping-pong on one CPU: each round trip hands the CPU from parent to child and back,
 * and every hand-over is a switch out of a counted task, except the child's last (it exits,
 * and its counter is gone before the final switch): at least 2N - 1. */
KT_TEST(context_switches_pipe_pingpong) {
    kperf_perm pm;
    kperf_perm_read(&pm);
    if (!pm.kernel) KT_SKIP("context switches are counted in kernel space; paranoid %d", pm.paranoid);
    int a[2], b[2];
    KT_CHECK(pipe(a) == 0 && pipe(b) == 0);
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = "context-switches",
                                                          .inherit = true,
                                                          .include_kernel = true});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    cpu_set_t old, one;
    sched_getaffinity(0, sizeof old, &old);
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    KT_CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
    KT_EQ_INT(kperf_counter_start(c), 0);
    pid_t child = fork(); /* inherits the affinity */
    char x = 0;
    if (child == 0) {
        for (int i = 0; i < N; i++)
            if (read(a[0], &x, 1) != 1 || write(b[1], &x, 1) != 1) _exit(1);
        _exit(0);
    }
    for (int i = 0; i < N; i++)
        if (write(a[1], &x, 1) != 1 || read(b[0], &x, 1) != 1) break;
    int st;
    waitpid(child, &st, 0);
    sched_setaffinity(0, sizeof old, &old);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    kperf_counts n;
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    KT_CHECK(n.events[0].v.raw >= 2 * N - 1, "%llu context switches", (unsigned long long)n.events[0].v.raw);
    kperf_counter_close(c);
    close(a[0]), close(a[1]), close(b[0]), close(b[1]);
}

/* A child that waits for a byte, makes N getpid calls, then waits to be killed. */
static pid_t spawn_getpid_child(int *go) {
    int p[2], done[2];
    if (pipe(p) || pipe(done)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char x;
        close(p[1]);
        if (read(p[0], &x, 1) != 1) _exit(1);
        getpids(N);
        if (write(done[1], &x, 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    close(p[0]), close(done[1]);
    go[0] = p[1], go[1] = done[0];
    return pid;
}

KT_TEST(target_child_by_pid) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    int go[2];
    pid_t pid = spawn_getpid_child(go);
    KT_CHECK(pid > 0);
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = GETPID, .pids = &pid,
                                                          .npids = 1});
    if (rc < 0) {
        kill(pid, SIGKILL), waitpid(pid, NULL, 0);
        KT_FAIL("open: %s", kperf_errmsg());
    }
    KT_EQ_INT(kperf_counter_start(c), 0);
    char x = 1;
    KT_CHECK(write(go[0], &x, 1) == 1 && read(go[1], &x, 1) == 1);
    getpids(10); /* ours: not counted */
    kperf_counts n;
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    kill(pid, SIGKILL), waitpid(pid, NULL, 0);
    KT_EQ_INT(n.events[0].v.raw, N);
    KT_EQ_INT(n.nrows, 1);
    KT_EQ_INT(n.rows[0].pid, pid);
    KT_EQ_INT(n.rows[0].tid, pid);
    kperf_counter_close(c);
    close(go[0]), close(go[1]);
}

KT_TEST(target_tid) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    int go[2];
    pid_t pid = spawn_getpid_child(go);
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = GETPID, .tids = &pid,
                                                          .ntids = 1});
    if (rc < 0) {
        kill(pid, SIGKILL), waitpid(pid, NULL, 0);
        KT_FAIL("open: %s", kperf_errmsg());
    }
    KT_EQ_INT(kperf_counter_start(c), 0);
    char x = 1;
    KT_CHECK(write(go[0], &x, 1) == 1 && read(go[1], &x, 1) == 1);
    kperf_counts n;
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    kill(pid, SIGKILL), waitpid(pid, NULL, 0);
    KT_EQ_INT(n.events[0].v.raw, N);
    kperf_counter_close(c);
    close(go[0]), close(go[1]);
}

/* CPU-wide counting sees at least our own calls (other processes may add more). */
KT_TEST(target_all_cpus) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    kperf_perm pm;
    kperf_perm_read(&pm);
    if (!pm.cpu_wide) KT_SKIP("CPU-wide counting needs paranoid <= 0 (is %d)", pm.paranoid);
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = GETPID, .all_cpus = true});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    KT_EQ_INT(kperf_counter_nfds(c), ncpu);
    KT_EQ_INT(kperf_counter_start(c), 0);
    getpids(N);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    kperf_counts n;
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    KT_CHECK(n.events[0].v.raw >= N, "%llu", (unsigned long long)n.events[0].v.raw);
    KT_EQ_INT(n.nrows, ncpu);
    for (size_t i = 0; i < n.nrows; i++) {
        KT_EQ_INT(n.rows[i].cpu, (long long)i);
        KT_EQ_INT(n.rows[i].pid, -1);
    }
    kperf_counter_close(c);
}

/* A cpu list: pin ourselves to CPU 0 and count only there; then count only on another
 * CPU and see none of our calls. The counters are CPU-wide, so they would also count other
 * processes' calls (the other test lane runs this very test at the same time): a filter
 * on common_pid keeps ours, exactly N on CPU 0 and exactly 0 on CPU 1. */
KT_TEST(target_cpu_list) {
    if (!have_tracefs()) KT_SKIP("tracefs syscalls events not readable");
    kperf_perm pm;
    kperf_perm_read(&pm);
    if (!pm.cpu_wide) KT_SKIP("CPU-wide counting needs paranoid <= 0 (is %d)", pm.paranoid);
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) KT_SKIP("needs two CPUs");
    cpu_set_t old, one;
    sched_getaffinity(0, sizeof old, &old);
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    KT_CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
    int cpu0 = 0, cpu1 = 1;
    char ev[128];
    snprintf(ev, sizeof ev, "%s/common_pid == %d/", GETPID, (int)getpid());
    kperf_counter *c0, *c1;
    int rc = kperf_counter_open(&c0, &(kperf_counter_desc){.events = ev, .cpus = &cpu0,
                                                           .ncpus = 1});
    if (rc == 0)
        rc = kperf_counter_open(&c1, &(kperf_counter_desc){.events = ev, .cpus = &cpu1,
                                                           .ncpus = 1});
    if (rc < 0) {
        sched_setaffinity(0, sizeof old, &old);
        KT_FAIL("open: %s", kperf_errmsg());
    }
    kperf_counter_start(c0), kperf_counter_start(c1);
    getpids(N);
    kperf_counter_stop(c0), kperf_counter_stop(c1);
    sched_setaffinity(0, sizeof old, &old);
    kperf_counts n0, n1;
    KT_EQ_INT(kperf_counter_read(c0, &n0), 0);
    KT_EQ_INT(n0.events[0].v.raw, N);
    KT_EQ_INT(n0.rows[0].cpu, 0);
    double mine_on_1 = 0;
    KT_EQ_INT(kperf_counter_read(c1, &n1), 0);
    mine_on_1 = n1.events[0].v.value;
    KT_CHECK(mine_on_1 == 0, "cpu 1 saw %f getpid calls while we were pinned to cpu 0", mine_on_1);
    KT_EQ_INT(n1.rows[0].cpu, 1);
    kperf_counter_close(c0), kperf_counter_close(c1);
}

KT_TEST(print_format) {
    KT_UNUSED();
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = "task-clock"});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    kperf_counter_start(c);
    kperf_counter_stop(c);
    kperf_counts n;
    KT_EQ_INT(kperf_counter_read(c, &n), 0);
    char buf[512] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    kperf_counts_print(f, &n, 10);
    fclose(f);
    KT_CHECK(strstr(buf, "task-clock") && strstr(buf, " exact\n"), "%s", buf);
    KT_CHECK(strstr(buf, "per iteration, 10 iterations"), "%s", buf);
    kperf_counter_close(c);
}

int main(void) {
    KT_RUN(getpid_exact_self);
    KT_RUN(tracepoint_filter_counted);
    KT_RUN(group_one_read_four_events);
    KT_RUN(inherit_four_threads_per_thread_split);
    KT_RUN(inherit_without_split_counts_all);
    KT_RUN(context_switches_pipe_pingpong);
    KT_RUN(target_child_by_pid);
    KT_RUN(target_tid);
    KT_RUN(target_all_cpus);
    KT_RUN(target_cpu_list);
    KT_RUN(print_format);
    KT_EXIT();
}
