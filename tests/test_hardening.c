/* Hardening regressions (issue 18): inputs that crashed, hung or misled kperf before.
 * Each test names the defect it guards; several only fail on the old code under the ASan+UBSan
 * flavour of `make test` (an over-read or a NULL handed to bsearch is silent otherwise). */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kt.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh temporary directory for one test (removed by the caller with rm_tree). */
static char *tmp_dir(char *buf, size_t n) {
    snprintf(buf, n, "/tmp/kperf_hard_XXXXXX");
    return mkdtemp(buf);
}

static void rm_tree(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
}

/* Writes text to root/rel, creating the directories on the way. */
static int put(const char *root, const char *rel, const char *text) {
    char path[1024], cmd[1200];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    char *slash = strrchr(path, '/');
    *slash = 0;
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    if (system(cmd) != 0) return -1;
    *slash = '/';
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* "field:__rel_loc x;" with no element type: the parser skipped 10 bytes after the 9-byte
 * keyword and read past the end of the type string (ASan: heap-buffer-overflow). */
KT_TEST(tp_format_rel_loc_without_type) {
    KT_UNUSED();
    static const char fmt[] = "name: x\nID: 7\nformat:\n\tfield:__rel_loc x;\toffset:0;\tsize:4;\n";
    kperf_tp_format *f = NULL;
    KT_EQ_INT(kperf_tp_format_parse(&f, fmt, strlen(fmt)), 0);
    KT_EQ_INT(f->nfields, 1);
    KT_CHECK(f->fields[0].flags & KPERF_TP_FIELD_REL_LOC);
    KT_EQ_INT(f->fields[0].elem_size, 1);
    kperf_tp_format_free(f);
    /* the element type right after the keyword is still read */
    static const char fmt2[] =
        "name: x\nID: 7\nformat:\n\tfield:__rel_loc u32[] v;\toffset:0;\tsize:4;\n";
    KT_EQ_INT(kperf_tp_format_parse(&f, fmt2, strlen(fmt2)), 0);
    KT_EQ_INT(f->fields[0].elem_size, 4);
    kperf_tp_format_free(f);
}

/* A dimension of 2^32 truncated to 0 and the parser divided by it (SIGFPE). */
KT_TEST(tp_format_huge_array_dimension) {
    KT_UNUSED();
    static const char *fmts[] = {
        "name: x\nID: 7\nformat:\n\tfield:char x[4294967296];\toffset:0;\tsize:1;\n",
        "name: x\nID: 7\nformat:\n\tfield:char x[65536][65536];\toffset:0;\tsize:1;\n",
        "name: x\nID: 7\nformat:\n\tfield:char x[4294967295][4294967295][4294967295];\t"
        "offset:0;\tsize:1;\n",
        "name: x\nID: 7\nformat:\n\tfield:char x[0x7fffffffffffffff][3];\toffset:0;\tsize:1;\n",
    };
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        kperf_tp_format *f = NULL;
        KT_EQ_INT(kperf_tp_format_parse(&f, fmts[i], strlen(fmts[i])), 0);
        KT_CHECK(f->fields[0].flags & KPERF_TP_FIELD_ARRAY, "format %zu", i);
        KT_EQ_INT(f->fields[0].elem_size, 1);
        KT_EQ_INT(f->fields[0].count, 1); /* the size (1 byte) is what the record holds */
        kperf_tp_format_free(f);
    }
}

/* A memory-only NUMA node has an empty cpulist; the topology code handed bsearch a NULL base
 * (UBSan: null pointer passed as argument 2, declared to never be null). */
KT_TEST(topology_memory_only_numa_node) {
    KT_UNUSED();
    char root[64];
    KT_CHECK(tmp_dir(root, sizeof root));
    KT_EQ_INT(put(root, "sys/devices/system/cpu/online", "0-1\n"), 0);
    KT_EQ_INT(put(root, "sys/devices/system/node/node0/cpulist", "0-1\n"), 0);
    KT_EQ_INT(put(root, "sys/devices/system/node/node1/cpulist", "\n"), 0);
    kperf_topology *t = NULL;
    int rc = kperf_topology_open(&t, root);
    if (rc < 0) rm_tree(root);
    KT_EQ_INT(rc, 0);
    kperf_cpu_topo c;
    KT_EQ_INT(kperf_topology_cpu(t, 1, &c), 0);
    KT_EQ_INT(c.numa, 0);
    KT_EQ_INT(kperf_topology_numa_count(t), 2);
    const int *cpus;
    size_t n = 99;
    KT_EQ_INT(kperf_topology_numa_cpus(t, 1, &cpus, &n), 0);
    KT_EQ_INT(n, 0);
    kperf_topology_close(t);
    /* no CPU online at all: lookups answer "not online" */
    KT_EQ_INT(put(root, "sys/devices/system/cpu/online", "\n"), 0);
    rc = kperf_topology_open(&t, root);
    if (rc == 0) {
        KT_EQ_INT(kperf_topology_cpu(t, 0, &c), -ENOENT);
        kperf_topology_close(t);
    }
    rm_tree(root);
}

int main(void) {
    KT_RUN(tp_format_rel_loc_without_type);
    KT_RUN(tp_format_huge_array_dimension);
    KT_RUN(topology_memory_only_numa_node);
    KT_EXIT();
}
