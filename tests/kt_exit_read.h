/* kt_exit_read.h - does the running kernel report an exiting inherited thread's counts?
 *
 * kperf's per-thread split (kperf_counter_desc.per_thread, libkperf include_new_fork) takes
 * each exited thread's counts from the PERF_RECORD_READ the kernel writes when a thread
 * with an inherit_stat event exits. Linux 5.13 to 6.18 (ef54c1a476ae "perf: Rework
 * perf_event_exit_event()") never writes it: perf_event_exit_task_context() sets the
 * context's task to TASK_TOMBSTONE before sync_child_event() looks at it. The fix is
 * "perf/core: Fix missing read event generation on task exit" (Dec 2025, in 6.19 and the
 * stable kernels that took it). This probe asks the kernel directly with raw
 * perf_event_open, independent of kperf: one thread starts and exits under an inherited
 * inherit_stat software event; 1 when a PERF_RECORD_READ arrives, 0 when none does, -1 when
 * the probe cannot run (then the test runs and says what it sees). */
#ifndef KT_EXIT_READ_H
#define KT_EXIT_READ_H
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *kt_exit_read_thread_(void *arg) {
    (void)arg;
    syscall(SYS_getpid);
    return NULL;
}

#define KT_EXIT_READ_WHY                                                                       \
    "this kernel writes no PERF_RECORD_READ when an inherit_stat thread exits (Linux 5.13 to " \
    "6.18 before \"perf/core: Fix missing read event generation on task exit\"): the "        \
    "per-thread split of exited threads cannot be had here"

static int kt_exit_read_works(void) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a, a.type = PERF_TYPE_SOFTWARE, a.config = PERF_COUNT_SW_TASK_CLOCK;
    a.inherit = 1, a.inherit_stat = 1, a.exclude_kernel = 1, a.exclude_hv = 1;
    a.read_format = PERF_FORMAT_ID;
    /* on CPU 0: an inherited per-task event cannot be mapped with cpu -1; the exiting
     * thread's copy writes its record whichever CPU it ran on */
    int fd = (int)syscall(SYS_perf_event_open, &a, 0, 0, -1, 0);
    if (fd < 0) return -1;
    /* a non-inherited event keeps the kernel from swapping this context with the child's */
    struct perf_event_attr p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p, p.type = PERF_TYPE_SOFTWARE, p.config = PERF_COUNT_SW_DUMMY;
    p.exclude_kernel = 1, p.exclude_hv = 1;
    int pin = (int)syscall(SYS_perf_event_open, &p, 0, -1, -1, 0);
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), len = pg * 2;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int found = -1;
    pthread_t t;
    if (pin >= 0 && m != MAP_FAILED && pthread_create(&t, NULL, kt_exit_read_thread_, NULL) == 0) {
        pthread_join(t, NULL);
        struct perf_event_mmap_page *h = (struct perf_event_mmap_page *)m;
        uint64_t head = __atomic_load_n(&h->data_head, __ATOMIC_ACQUIRE), pos = 0;
        const unsigned char *data = (const unsigned char *)m + pg;
        found = 0;
        while (pos + sizeof(struct perf_event_header) <= head && pos < pg) {
            struct perf_event_header eh;
            memcpy(&eh, data + pos % pg, sizeof eh); /* first page only: no wrap */
            if (eh.type == PERF_RECORD_READ) found = 1;
            if (!eh.size) break;
            pos += eh.size;
        }
    }
    if (m != MAP_FAILED) munmap(m, len);
    if (pin >= 0) close(pin);
    close(fd);
    return found;
}
#endif
