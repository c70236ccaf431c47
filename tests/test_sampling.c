/* Live sampling tests: cpu-clock and task-clock sample here without a hardware PMU. */
#define _GNU_SOURCE 1
#include "kperf.h"
#include "tests/kt.h"
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *build_dir(void) {
    const char *b = getenv("KPERF_BUILD");
    return b && *b ? b : "build";
}

static double thread_cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static volatile unsigned long sink;
static void burn(double secs) {
    double end = thread_cpu() + secs;
    while (thread_cpu() < end)
        for (int i = 0; i < 5000; i++) sink += (unsigned long)i * i;
}

/* What the tests keep of each record (pointers die when the callback returns). */
typedef struct rec_copy {
    uint32_t type, pid, tid, cpu, ppid, nips;
    uint64_t time, ip, addr, len, pgoff;
    bool exec;
    char text[128];
    char comm_now[16];
    uint64_t ips[32];
} rec_copy;

typedef struct coll {
    kperf_sampler *s;
    rec_copy *v;
    size_t n, cap;
    int stop_at;
} coll;

static int collect(const kperf_record *r, void *user) {
    coll *c = (coll *)user;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->v = (rec_copy *)realloc(c->v, c->cap * sizeof *c->v);
    }
    rec_copy *o = &c->v[c->n++];
    memset(o, 0, sizeof *o);
    o->type = r->type, o->pid = r->pid, o->tid = r->tid, o->cpu = r->cpu, o->time = r->time;
    if (r->type == KPERF_RECORD_SAMPLE) {
        o->ip = r->sample.ip;
        o->nips = r->sample.nips > 32 ? 32 : r->sample.nips;
        if (o->nips) memcpy(o->ips, r->sample.ips, o->nips * 8);
        const char *cm = c->s ? kperf_sampler_comm(c->s, r->sample.tid) : NULL;
        snprintf(o->comm_now, sizeof o->comm_now, "%s", cm ? cm : "");
    } else if (r->type == KPERF_RECORD_MMAP2) {
        o->pid = r->mmap.pid, o->addr = r->mmap.addr, o->len = r->mmap.len;
        o->pgoff = r->mmap.pgoff;
        snprintf(o->text, sizeof o->text, "%s", r->mmap.filename);
    } else if (r->type == KPERF_RECORD_COMM) {
        o->pid = r->comm.pid, o->tid = r->comm.tid, o->exec = r->comm.exec;
        snprintf(o->text, sizeof o->text, "%s", r->comm.comm);
    } else if (r->type == KPERF_RECORD_FORK || r->type == KPERF_RECORD_EXIT) {
        o->pid = r->task.pid, o->ppid = r->task.ppid, o->tid = r->task.tid;
    }
    return c->stop_at && (int)c->n == c->stop_at ? -7 : 0;
}

/* Starts argv under the sampler: the child waits until the sampler is open, then execs;
 * enable_on_exec starts sampling at the exec. Drains while it runs. */
static int run_sampled(char **argv, kperf_sampler_desc d, coll *c, pid_t *child) {
    int gate[2];
    if (pipe(gate)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char b;
        close(gate[1]);
        if (read(gate[0], &b, 1) != 1) _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(gate[0]);
    d.pids = &pid, d.npids = 1, d.inherit = true, d.enable_on_exec = true;
    int err = kperf_sampler_open(&c->s, &d);
    if (write(gate[1], "x", 1) != 1) err = err ? err : -1;
    close(gate[1]);
    int st;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (c->s) kperf_sampler_read(c->s, collect, c);
        usleep(20000);
    }
    if (c->s) {
        kperf_sampler_stop(c->s);
        kperf_sampler_read(c->s, collect, c);
    }
    *child = pid;
    return err;
}

/* Function bounds of a symbol from `nm -S`: [start, start+size) as file addresses. */
static int nm_bounds(const char *bin, const char *sym, uint64_t *lo, uint64_t *hi) {
    char cmd[512], line[512];
    snprintf(cmd, sizeof cmd, "nm -S %s", bin);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    int found = -1;
    while (fgets(line, sizeof line, p)) {
        unsigned long long a, s;
        char t, name[256];
        if (sscanf(line, "%llx %llx %c %255s", &a, &s, &t, name) == 4 && !strcmp(name, sym)) {
            *lo = a, *hi = a + s, found = 0;
        }
    }
    pclose(p);
    return found;
}

KT_TEST(busy_second_at_1000hz) {
    KT_UNUSED();
    kperf_sampler *s;
    int err = kperf_sampler_open(&s, &(kperf_sampler_desc){.events = "cpu-clock", .freq = 1000});
    if (err == -KPERF_EPARANOID) KT_SKIP("%s", kperf_errmsg());
    KT_CHECK(err == 0, "%s", kperf_errmsg());
    KT_CHECK(kperf_sampler_start(s) == 0, "%s", kperf_errmsg());
    double cpu0 = thread_cpu();
    burn(1.0);
    KT_CHECK(kperf_sampler_stop(s) == 0);
    double cpu = thread_cpu() - cpu0; /* the kernel's account of this thread's run time */
    coll c = {s, NULL, 0, 0, 0};
    int n = kperf_sampler_read(s, collect, &c);
    KT_CHECK(n > 0, "read returned %d: %s", n, kperf_errmsg());
    size_t samples = 0;
    for (size_t i = 0; i < c.n; i++)
        if (c.v[i].type == KPERF_RECORD_SAMPLE) {
            samples++;
            KT_EQ_INT(c.v[i].pid, getpid());
        }
    kperf_sampler_stats st;
    kperf_sampler_stats_read(s, &st);
    KT_EQ_INT(st.total.samples, samples);
    KT_EQ_INT(st.last.samples, samples);
    /* At 1000 Hz the kernel cannot take more than one sample per ms of the task's run
     * time (plus the one in flight). On a busy machine the cpu-clock hrtimer restarts at
     * every switch-in and fires less often, so only a generous floor is asserted. */
    KT_CHECK(samples <= (size_t)(cpu * 1000 * 1.05) + 2, "%zu samples in %.3f s of CPU at 1000 Hz",
             samples, cpu);
    KT_CHECK(samples >= (size_t)(cpu * 1000 * 0.5), "%zu samples in %.3f s of CPU at 1000 Hz",
             samples, cpu);
    printf("# %zu samples for %.3f s of CPU at 1000 Hz\n", samples, cpu);
    free(c.v);
    kperf_sampler_close(s);
}

KT_TEST(task_clock_by_period) {
    KT_UNUSED();
    kperf_sampler *s;
    /* task-clock counts ns: a period of 2 ms gives 100 samples in 0.2 s */
    int err = kperf_sampler_open(&s, &(kperf_sampler_desc){.events = "task-clock", .period = 2000000});
    KT_CHECK(err == 0, "%s", kperf_errmsg());
    kperf_sampler_start(s);
    double cpu0 = thread_cpu();
    burn(0.2);
    kperf_sampler_stop(s);
    double cpu = thread_cpu() - cpu0; /* run time as the kernel accounts it */
    int samples = 0;
    KPERF_SAMPLER_FOREACH(s, rec) {
        if (rec->type != KPERF_RECORD_SAMPLE) continue;
        samples++;
        KT_CHECK(rec->sample.period >= 1900000 && rec->sample.period <= 2100000,
                 "period %llu", (unsigned long long)rec->sample.period);
        KT_EQ_STR(kperf_sampler_event_name(s, (size_t)rec->event), "task-clock");
    }
    /* One sample per 2 ms of the task's run time, at most (see busy_second_at_1000hz). */
    int most = (int)(cpu * 1e9 / 2000000) + 1;
    KT_CHECK(samples <= most && samples >= most / 2, "%d samples in %.3f s of CPU (at most %d)",
             samples, cpu, most);
    kperf_sampler_close(s);
}

KT_TEST(callchain_has_caller) {
    KT_UNUSED();
    char bin[512];
    snprintf(bin, sizeof bin, "%s/progs/sample_busy", build_dir());
    uint64_t hlo, hhi, clo, chi;
    if (access(bin, X_OK)) KT_SKIP("%s not built", bin);
    if (system("nm --version >/dev/null 2>&1") != 0) /* the arm64 guest's busybox has none */
        KT_SKIP("nm (binutils) is not installed: no oracle for the functions' bounds");
    KT_CHECK(nm_bounds(bin, "sample_hot", &hlo, &hhi) == 0);
    KT_CHECK(nm_bounds(bin, "sample_caller", &clo, &chi) == 0);
    char *argv[] = {bin, (char *)"0.5", NULL};
    coll c = {NULL, NULL, 0, 0, 0};
    pid_t child;
    int err = run_sampled(argv, (kperf_sampler_desc){.freq = 1000, .callchain = true}, &c, &child);
    KT_CHECK(err == 0, "%s", kperf_errmsg());
    uint64_t base = 0;
    for (size_t i = 0; i < c.n; i++)
        if (c.v[i].type == KPERF_RECORD_MMAP2 && c.v[i].pid == (uint32_t)child &&
            strstr(c.v[i].text, "/sample_busy") && (!base || c.v[i].addr - c.v[i].pgoff < base))
            base = c.v[i].addr - c.v[i].pgoff;
    KT_CHECK(base != 0, "no MMAP2 record for %s", bin);
    size_t in_hot = 0, with_caller = 0;
    for (size_t i = 0; i < c.n; i++) {
        rec_copy *r = &c.v[i];
        if (r->type != KPERF_RECORD_SAMPLE || r->ip < base + hlo || r->ip >= base + hhi) continue;
        in_hot++;
        bool ok = false;
        for (uint32_t k = 0; k < r->nips; k++)
            if (r->ips[k] >= base + clo && r->ips[k] < base + chi) ok = true;
        with_caller += ok;
    }
    kperf_sampler_close(c.s);
    free(c.v);
    KT_CHECK(in_hot >= 200, "only %zu samples in sample_hot", in_hot);
    KT_EQ_INT(with_caller, in_hot);
}

KT_TEST(fork_exec_sideband) {
    KT_UNUSED();
    char launcher[512], bin[512];
    snprintf(launcher, sizeof launcher, "%s/progs/sample_forkexec", build_dir());
    snprintf(bin, sizeof bin, "%s/progs/sample_busy", build_dir());
    if (access(launcher, X_OK)) KT_SKIP("%s not built", launcher);
    char *argv[] = {launcher, bin, (char *)"0.3", NULL};
    coll c = {NULL, NULL, 0, 0, 0};
    pid_t top;
    int err = run_sampled(argv, (kperf_sampler_desc){.freq = 1000}, &c, &top);
    KT_CHECK(err == 0, "%s", kperf_errmsg());
    uint32_t child = 0;
    bool comm_exec = false, mmap_seen = false;
    uint64_t lo = 0, hi = 0, t_exec = 0;
    for (size_t i = 0; i < c.n; i++) {
        rec_copy *r = &c.v[i];
        if (r->type == KPERF_RECORD_FORK && r->ppid == (uint32_t)top && r->pid != (uint32_t)top)
            child = r->pid;
        if (r->type == KPERF_RECORD_COMM && child && r->pid == child && r->exec &&
            !strcmp(r->text, "sample_busy"))
            comm_exec = true, t_exec = r->time;
        if (r->type == KPERF_RECORD_MMAP2 && child && r->pid == child &&
            strstr(r->text, "/sample_busy") && r->addr > 0)
            mmap_seen = true, lo = lo ? lo : r->addr, hi = r->addr + r->len > hi ? r->addr + r->len : hi;
    }
    KT_CHECK(child != 0, "no FORK record from pid %d", (int)top);
    KT_CHECK(comm_exec, "no COMM exec record naming sample_busy for pid %u", child);
    KT_CHECK(mmap_seen, "no MMAP2 record of sample_busy for pid %u", child);
    size_t child_samples = 0, in_binary = 0, parent_samples = 0;
    for (size_t i = 0; i < c.n; i++) {
        rec_copy *r = &c.v[i];
        if (r->type != KPERF_RECORD_SAMPLE) continue;
        if (r->pid == (uint32_t)top) {
            parent_samples++;
            KT_EQ_STR(r->comm_now, "sample_forkexec");
        }
        if (r->pid != child) continue;
        if (r->time < t_exec) { /* between fork and exec the child still runs the launcher */
            KT_EQ_STR(r->comm_now, "sample_forkexec");
            continue;
        }
        child_samples++;
        KT_EQ_STR(r->comm_now, "sample_busy");
        in_binary += r->ip >= lo && r->ip < hi;
    }
    /* the child burns 0.3 s of CPU at 1000 Hz: see busy_second_at_1000hz for the floor */
    KT_CHECK(child_samples >= 150 && child_samples <= 320, "%zu child samples", child_samples);
    KT_CHECK(in_binary * 10 >= child_samples * 8, "%zu of %zu child samples in sample_busy",
             in_binary, child_samples);
    KT_CHECK(parent_samples >= 10, "%zu samples of the launcher", parent_samples);
    kperf_sampler_close(c.s);
    free(c.v);
}

static void *burner(void *arg) {
    long cpu = (long)arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    burn(0.4);
    return NULL;
}

KT_TEST(time_order_across_cpus) {
    KT_UNUSED();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    kperf_sampler *s;
    int err = kperf_sampler_open(&s, &(kperf_sampler_desc){.freq = 2000, .inherit = true});
    KT_CHECK(err == 0, "%s", kperf_errmsg());
    kperf_sampler_start(s);
    pthread_t th[2];
    for (long i = 0; i < 2; i++) pthread_create(&th[i], NULL, burner, (void *)(i % ncpu));
    coll c = {s, NULL, 0, 0, 0};
    for (int i = 0; i < 30; i++) {
        usleep(20000);
        KT_CHECK(kperf_sampler_read(s, collect, &c) >= 0, "%s", kperf_errmsg());
    }
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    kperf_sampler_stop(s);
    KT_CHECK(kperf_sampler_read(s, collect, &c) >= 0, "%s", kperf_errmsg());
    bool cpu_seen[2] = {false, false};
    size_t samples = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (i) KT_CHECK(c.v[i].time >= c.v[i - 1].time, "record %zu (cpu %u) at %llu before record %zu (cpu %u) at %llu",
                        i, c.v[i].cpu, (unsigned long long)c.v[i].time, i - 1, c.v[i - 1].cpu,
                        (unsigned long long)c.v[i - 1].time);
        if (c.v[i].type == KPERF_RECORD_SAMPLE) samples++, cpu_seen[c.v[i].cpu & 1] = true;
    }
    KT_CHECK(samples > 500, "%zu samples", samples);
    if (ncpu >= 2) KT_CHECK(cpu_seen[0] && cpu_seen[1], "samples from only one CPU");
    kperf_sampler_stats st;
    kperf_sampler_stats_read(s, &st);
    KT_EQ_INT(st.out_of_order, 0);
    kperf_sampler_close(s);
    free(c.v);
}

KT_TEST(tiny_ring_counts_lost) {
    KT_UNUSED();
    kperf_sampler *s;
    int err = kperf_sampler_open(&s, &(kperf_sampler_desc){.period = 10000, .callchain = true,
                                                          .ring_pages = 1});
    KT_CHECK(err == 0, "%s", kperf_errmsg());
    kperf_sampler_start(s);
    coll c = {s, NULL, 0, 0, 0};
    for (int round = 0; round < 4; round++) {
        burn(0.05); /* ~5000 samples into a 4 KiB ring between reads */
        int n = kperf_sampler_read(s, collect, &c);
        KT_CHECK(n >= 0, "read failed: %s", kperf_errmsg());
    }
    kperf_sampler_stop(s);
    KT_CHECK(kperf_sampler_read(s, collect, &c) >= 0, "%s", kperf_errmsg());
    kperf_sampler_stats st;
    kperf_sampler_stats_read(s, &st);
    size_t lost_recs = 0;
    for (size_t i = 0; i < c.n; i++) {
        rec_copy *r = &c.v[i];
        if (r->type == KPERF_RECORD_LOST) lost_recs++;
        if (r->type != KPERF_RECORD_SAMPLE) continue;
        KT_EQ_INT(r->pid, getpid());
        KT_CHECK(r->nips >= 2 && r->ips[0] >= KPERF_CONTEXT_MAX, "sample without its chain");
    }
    KT_CHECK(lost_recs > 0 && st.total.lost > 0, "nothing lost (%zu records)", c.n);
    KT_EQ_INT(st.total.corrupt, 0);
    printf("# tiny ring: %llu samples kept, %llu lost, %llu throttled\n",
           (unsigned long long)st.total.samples, (unsigned long long)st.total.lost,
           (unsigned long long)st.total.throttled);
    kperf_sampler_close(s);
    free(c.v);
}

KT_TEST(push_stop_then_pull_rest) {
    KT_UNUSED();
    kperf_sampler *s;
    KT_CHECK(kperf_sampler_open(&s, &(kperf_sampler_desc){.freq = 1000}) == 0, "%s", kperf_errmsg());
    kperf_sampler_start(s);
    burn(0.1);
    kperf_sampler_stop(s);
    coll c = {.s = s, .stop_at = 5};
    KT_EQ_INT(kperf_sampler_read(s, collect, &c), -7);
    KT_EQ_INT(c.n, 5);
    size_t rest = 0;
    KPERF_SAMPLER_FOREACH(s, rec) {
        rest++;
        KT_CHECK(rec->time >= c.v[4].time);
    }
    kperf_sampler_stats st;
    kperf_sampler_stats_read(s, &st);
    KT_EQ_INT(st.total.records, 5 + rest);
    KT_CHECK(rest >= 50, "%zu", rest);
    const kperf_record *r;
    KT_EQ_INT(kperf_sampler_next(s, &r), 0);
    kperf_sampler_close(s);
    free(c.v);
}

KT_TEST(poll_fd_wakes_at_watermark) {
    KT_UNUSED();
    kperf_sampler *s;
    KT_CHECK(kperf_sampler_open(&s, &(kperf_sampler_desc){.period = 100000, .ring_pages = 8,
                                                          .wakeup_bytes = 2048}) == 0,
             "%s", kperf_errmsg());
    struct pollfd p = {kperf_sampler_fd(s), POLLIN, 0};
    KT_CHECK(p.fd >= 0);
    KT_EQ_INT(poll(&p, 1, 0), 0);
    kperf_sampler_start(s);
    int ready = 0;
    for (int i = 0; i < 200 && !ready; i++) {
        burn(0.005);
        ready = poll(&p, 1, 0);
    }
    KT_EQ_INT(ready, 1);
    int n = 0;
    size_t bytes = 0;
    kperf_sampler_stop(s);
    KPERF_SAMPLER_FOREACH(s, rec) n += rec->type == KPERF_RECORD_SAMPLE, bytes += rec->size;
    /* the kernel wakes the poller once wakeup_bytes of records are in the ring */
    KT_CHECK(bytes >= 2048 && n > 0, "woken with only %zu bytes (%d samples)", bytes, n);
    kperf_sampler_close(s);
}

KT_TEST(tracepoint_raw_samples) {
    KT_UNUSED();
    kperf_sampler *s;
    int err = kperf_sampler_open(&s, &(kperf_sampler_desc){.events = "syscalls:sys_enter_getppid"});
    if (err == -KPERF_ENOEVENT || err == -KPERF_EPARANOID) KT_SKIP("%s", kperf_errmsg());
    KT_CHECK(err == 0, "%s", kperf_errmsg());
    kperf_sampler_start(s);
    for (int i = 0; i < 100; i++) getppid();
    kperf_sampler_stop(s);
    int n = 0;
    KPERF_SAMPLER_FOREACH(s, rec) {
        if (rec->type != KPERF_RECORD_SAMPLE) continue;
        n++;
        KT_CHECK(rec->sample.raw_size >= 8 && rec->sample.raw, "no raw payload");
        KT_EQ_INT(rec->sample.tid, (uint32_t)syscall(SYS_gettid));
    }
    KT_EQ_INT(n, 100);
    kperf_sampler_close(s);
    /* a tracepoint inside the kernel (not at a syscall boundary) is sampled by default too */
    err = kperf_sampler_open(&s, &(kperf_sampler_desc){.events = "sched:sched_switch"});
    KT_CHECK(err == 0, "%s", kperf_errmsg());
    kperf_sampler_start(s);
    for (int i = 0; i < 20; i++) usleep(1000);
    kperf_sampler_stop(s);
    n = 0;
    KPERF_SAMPLER_FOREACH(s, rec) n += rec->type == KPERF_RECORD_SAMPLE;
    KT_CHECK(n >= 20, "%d sched_switch samples for 20 sleeps", n);
    kperf_sampler_close(s);
}

KT_TEST(errors_name_the_problem) {
    KT_UNUSED();
    kperf_sampler *s = (kperf_sampler *)1;
    KT_EQ_INT(kperf_sampler_open(&s, &(kperf_sampler_desc){.events = "no-such-event"}), -KPERF_ENOEVENT);
    KT_CHECK(s == NULL);
    KT_CHECK(strstr(kperf_errmsg(), "no-such-event") != NULL, "%s", kperf_errmsg());
    pid_t nobody = 0x3ffffff0;
    KT_EQ_INT(kperf_sampler_open(&s, &(kperf_sampler_desc){.pids = &nobody, .npids = 1}), -KPERF_ENOTARGET);
    KT_EQ_INT(kperf_sampler_open(&s, &(kperf_sampler_desc){.ring_pages = 3}), -EINVAL);
    if (access("/sys/bus/event_source/devices/cpu", F_OK) != 0 && /* no hardware PMU (VM) */
        access("/sys/bus/event_source/devices/armv8_pmuv3", F_OK) != 0 &&
        access("/sys/bus/event_source/devices/armv8_pmuv3_0", F_OK) != 0) {
        KT_EQ_INT(kperf_sampler_open(&s, &(kperf_sampler_desc){.events = "cycles"}), -KPERF_ENOTSUP);
        KT_CHECK(strstr(kperf_errmsg(), "cycles") && strstr(kperf_errmsg(), "hardware PMU"),
                 "%s", kperf_errmsg());
    }
    kperf_sampler_close(NULL);
}

KT_TEST(folded_stacks) {
    KT_UNUSED();
    kperf_folded *f;
    KT_CHECK(kperf_folded_new(&f, NULL, NULL) == 0);
    uint64_t ips[] = {KPERF_CONTEXT_KERNEL, 0xffff0001, KPERF_CONTEXT_USER, 0x10, 0x20, 0x30};
    kperf_sample smp;
    memset(&smp, 0, sizeof smp);
    smp.ips = ips, smp.nips = 6;
    kperf_folded_add(f, &smp, "my prog");
    kperf_folded_add(f, &smp, "my prog");
    smp.nips = 0, smp.ip = 0x99;
    kperf_folded_add(f, &smp, NULL);
    char path[] = "/tmp/kperf_folded_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    KT_EQ_INT(kperf_folded_write(f, path), 2);
    FILE *in = fopen(path, "r");
    char l1[256] = "", l2[256] = "";
    KT_CHECK(fgets(l1, sizeof l1, in) && fgets(l2, sizeof l2, in));
    fclose(in);
    unlink(path);
    KT_EQ_STR(l1, "0x99 1\n");
    KT_EQ_STR(l2, "my_prog;0x30;0x20;0x10;0xffff0001_[k] 2\n");
    kperf_folded_free(f);
}

/* Each frame takes the context of the nearest marker below it (towards the leaf); frames
 * below every marker are user frames. */
KT_TEST(folded_context_markers) {
    KT_UNUSED();
    kperf_folded *f;
    KT_CHECK(kperf_folded_new(&f, NULL, NULL) == 0);
    uint64_t ips[] = {0x1,     KPERF_CONTEXT_KERNEL, 0xffff2, 0xffff3, KPERF_CONTEXT_USER,
                      0x40,    0x50,                 KPERF_CONTEXT_KERNEL, 0xffff8,
                      KPERF_CONTEXT_USER};
    kperf_sample smp;
    memset(&smp, 0, sizeof smp);
    smp.ips = ips, smp.nips = sizeof ips / sizeof *ips;
    KT_EQ_INT(kperf_folded_add(f, &smp, NULL), 0);
    char path[] = "/tmp/kperf_folded_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    KT_EQ_INT(kperf_folded_write(f, path), 1);
    FILE *in = fopen(path, "r");
    char l1[256] = "";
    KT_CHECK(fgets(l1, sizeof l1, in) != NULL);
    fclose(in);
    unlink(path);
    KT_EQ_STR(l1, "0xffff8_[k];0x50;0x40;0xffff3_[k];0xffff2_[k];0x1 1\n");
    kperf_folded_free(f);
}

KT_TEST(libkperf_rows) {
    KT_UNUSED();
    kperf_sampler *s;
    KT_CHECK(kperf_sampler_open(&s, &(kperf_sampler_desc){.freq = 1000, .callchain = true}) == 0,
             "%s", kperf_errmsg());
    kperf_sampler_start(s);
    double cpu0 = thread_cpu();
    burn(0.2);
    kperf_sampler_stop(s);
    double cpu = thread_cpu() - cpu0;
    kperf_sample_rows *rows;
    int n = kperf_sampler_rows_read(s, &rows);
    char comm[32] = "";
    FILE *f = fopen("/proc/thread-self/comm", "r");
    if (f && fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = 0;
    if (f) fclose(f);
    kperf_sampler_close(s); /* rows outlive the sampler */
    /* at most one row per ms of run time, at least half that (see busy_second_at_1000hz) */
    KT_CHECK(n <= (int)(cpu * 1050) + 2 && n >= (int)(cpu * 500), "%d rows in %.3f s of CPU", n, cpu);
    KT_EQ_INT(rows->n, n);
    for (size_t i = 0; i < rows->n; i++) {
        const kperf_sample_row *r = &rows->rows[i];
        KT_EQ_STR(r->evt, "cpu-clock");
        KT_EQ_STR(r->comm, comm);
        KT_EQ_INT(r->pid, getpid());
        KT_EQ_INT(r->topo.cpu, r->cpu);
        KT_CHECK(r->topo.socket >= 0 && r->topo.core >= 0 && r->topo.numa >= 0);
        KT_CHECK(r->nstack >= 2 && r->stack[0] == r->ip, "stack of %zu", r->nstack);
        KT_EQ_INT(r->count, r->period);
        if (i) KT_CHECK(r->ts >= rows->rows[i - 1].ts);
    }
    kperf_sample_rows_free(rows);
}

int main(void) {
    KT_RUN(busy_second_at_1000hz);
    KT_RUN(task_clock_by_period);
    KT_RUN(callchain_has_caller);
    KT_RUN(fork_exec_sideband);
    KT_RUN(time_order_across_cpus);
    KT_RUN(tiny_ring_counts_lost);
    KT_RUN(push_stop_then_pull_rest);
    KT_RUN(poll_fd_wakes_at_watermark);
    KT_RUN(tracepoint_raw_samples);
    KT_RUN(errors_name_the_problem);
    KT_RUN(folded_stacks);
    KT_RUN(folded_context_markers);
    KT_RUN(libkperf_rows);
    KT_EXIT();
}
