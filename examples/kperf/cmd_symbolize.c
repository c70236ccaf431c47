/* kperf symbolize: addresses to function and file:line, printed exactly as GNU addr2line
 * prints them for the same flags (a drop-in), or for a live process with --pid.
 *
 *   kperf symbolize -e BIN [-a] [-f] [-i] [-C] [-s] [-p] [ADDR...]   (stdin when no ADDR)
 *   kperf symbolize --pid PID [-a] [-f] [-i] [-C] [ADDR...]           (-p PID without -e)
 */
#include "kperf_cli.h"
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct sym_opts {
    const char *exe;
    long pid;
    bool functions, inlines, demangle, addresses, pretty, basenames;
    int addr_width; /* 16 for ELF64, 8 for ELF32 */
} sym_opts;

static void sym_usage(FILE *f) {
    fprintf(f,
            "usage: kperf symbolize [-e BIN | --pid PID] [-a] [-f] [-i] [-C] [-s] [-p] [ADDR...]\n"
            "  -e, --exe BIN        the executable or library (default a.out); ADDRs are its\n"
            "                       own virtual addresses, as addr2line takes them\n"
            "  --pid PID            ADDRs are addresses of the live process PID (-p PID\n"
            "                       works too when -e is not given)\n"
            "  -a, --addresses      print each address before its lines\n"
            "  -f, --functions      print function names\n"
            "  -i, --inlines        print the inline chain, innermost first\n"
            "  -C, --demangle       demangle C++ names\n"
            "  -s, --basenames      strip directories from file names\n"
            "  -p, --pretty-print   one line per address (with -e)\n"
            "Addresses are read from stdin, one per line, when none are given. The output is\n"
            "byte-for-byte what binutils addr2line prints for the same flags.\n");
}

/* Which ELF class the file is: addr2line prints addresses with its width. */
static int sym_addr_width(const char *path) {
    unsigned char id[5] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 16;
    size_t n = fread(id, 1, sizeof id, f);
    fclose(f);
    return n == sizeof id && id[4] == 1 ? 8 : 16;
}

/* Output goes through one buffer, written with write(2) when full and before every read
 * that may block: a few hundred thousand short lines cost no stdio call each. */
typedef struct sym_out {
    char buf[1 << 16];
    size_t n;
    bool failed;
} sym_out;

static void sym_flush(sym_out *w) {
    for (size_t off = 0; off < w->n && !w->failed;) {
        ssize_t k = write(1, w->buf + off, w->n - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) w->failed = true; /* a closed pipe: stop writing, keep reading */
        else off += (size_t)k;
    }
    w->n = 0;
}

static void sym_put(sym_out *w, const char *p, size_t n) {
    while (n) {
        if (w->n == sizeof w->buf) sym_flush(w);
        size_t k = sizeof w->buf - w->n < n ? sizeof w->buf - w->n : n;
        memcpy(w->buf + w->n, p, k);
        w->n += k, p += k, n -= k;
    }
}

static void sym_puts(sym_out *w, const char *p) { sym_put(w, p, strlen(p)); }

static void sym_putu(sym_out *w, unsigned v) {
    char t[12];
    size_t i = sizeof t;
    do t[--i] = (char)('0' + v % 10);
    while ((v /= 10));
    sym_put(w, t + i, sizeof t - i);
}

static void sym_puthex(sym_out *w, uint64_t v, int width) { /* 0x, zero-padded */
    char t[18];
    t[0] = '0', t[1] = 'x';
    for (int i = width - 1; i >= 0; i--, v >>= 4) t[2 + i] = "0123456789abcdef"[v & 15];
    sym_put(w, t, (size_t)width + 2);
}

static void sym_print(kperf_symbolizer *s, const sym_opts *o, uint64_t addr, sym_out *out) {
    kperf_frame fr[64];
    if (o->addresses) {
        if (o->addr_width == 8) sym_puthex(out, addr & 0xffffffffu, 8);
        else sym_puthex(out, addr, 16);
        sym_puts(out, o->pretty ? ": " : "\n");
    }
    int n = kperf_symbolizer_lookup(s, o->exe ? 0 : (pid_t)o->pid, addr, fr,
                                    o->inlines ? 64 : 1);
    if (n <= 0) {
        if (o->functions) sym_puts(out, o->pretty ? "?? " : "??\n");
        sym_puts(out, "??:0\n");
        return;
    }
    for (int i = 0; i < n; i++) {
        if (o->functions) {
            const char *name = o->demangle ? fr[i].function : fr[i].mangled;
            sym_puts(out, name && name[0] ? name : "??");
            sym_puts(out, o->pretty ? " at " : "\n");
        }
        const char *file = fr[i].file;
        if (file && o->basenames && strrchr(file, '/')) file = strrchr(file, '/') + 1;
        sym_puts(out, file ? file : "??");
        sym_put(out, ":", 1);
        /* addr2line prints the innermost row's discriminator on every frame */
        if (!fr[i].line) {
            sym_put(out, "?\n", 2);
        } else {
            sym_putu(out, fr[i].line);
            if (fr[0].discriminator) {
                sym_puts(out, " (discriminator ");
                sym_putu(out, fr[0].discriminator);
                sym_put(out, ")", 1);
            }
            sym_put(out, "\n", 1);
        }
        if (i + 1 < n && o->pretty) sym_puts(out, " (inlined by) ");
    }
}

/* Indexes, on all CPUs, what the complete lines of a chunk just read will need. */
static void sym_preload(kperf_symbolizer *s, const sym_opts *o, const char *p, size_t n) {
    static uint64_t a[1 << 14];
    size_t k = 0;
    for (const char *end = p + n; k < sizeof a / sizeof *a;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;
        a[k++] = strtoull(p, NULL, 16);
        p = nl + 1;
    }
    if (k > 1) kperf_symbolizer_preload(s, o->exe ? 0 : (pid_t)o->pid, a, k);
}

/* Reads stdin line by line; the output is flushed before every read that may block, so an
 * interactive caller gets each answer at once while a pipe of many addresses is fast. */
static void sym_stdin(kperf_symbolizer *s, const sym_opts *o, sym_out *out) {
    static char buf[1 << 16];
    size_t start = 0, have = 0; /* unread bytes: buf[start, have) */
    for (;;) {
        char *line = buf + start;
        char *nl = memchr(line, '\n', have - start);
        if (!nl) {
            if (start) { /* keep the partial line at the front */
                memmove(buf, line, have - start);
                have -= start, start = 0;
                line = buf;
            }
            if (have == sizeof buf) {
                nl = buf + have - 1; /* overlong line: split it */
            } else {
                sym_flush(out);
                ssize_t r = read(0, buf + have, sizeof buf - have);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) {
                    if (!have) return;
                    nl = buf + have; /* last line without newline */
                    if (have == sizeof buf) nl--;
                } else {
                    sym_preload(s, o, buf, have + (size_t)r); /* buf: the partial line */
                    have += (size_t)r;
                    continue;
                }
            }
        }
        *nl = 0;
        sym_print(s, o, strtoull(line, NULL, 16), out);
        start = (size_t)(nl - buf) + 1;
        if (start >= have) start = have = 0;
    }
}

int cmd_symbolize(int argc, char **argv) {
    sym_opts o = {0};
    o.pid = -1;
    o.addr_width = 16;
    bool has_exe = false;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-e") || !strncmp(argv[i], "--exe", 5) ||
            (!strncmp(argv[i], "-e", 2) && argv[i][2]))
            has_exe = true;
    char **addrs = (char **)calloc((size_t)argc + 1, sizeof *addrs);
    int naddrs = 0;
    if (!addrs) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) { /* options and addresses may mix, as with getopt */
            addrs[naddrs++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--")) {
            while (++i < argc) addrs[naddrs++] = argv[i];
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return free(addrs), sym_usage(stdout), 0;
        if (!strcmp(a, "-e") || !strcmp(a, "--exe")) {
            if (++i >= argc) return free(addrs), sym_usage(stderr), 2;
            o.exe = argv[i];
        } else if (!strncmp(a, "--exe=", 6)) {
            o.exe = a + 6;
        } else if (!strncmp(a, "-e", 2)) {
            o.exe = a + 2;
        } else if (!strcmp(a, "--pid") || (!strcmp(a, "-p") && !has_exe)) {
            if (++i >= argc) return free(addrs), sym_usage(stderr), 2;
            char *end;
            o.pid = strtol(argv[i], &end, 10);
            if (*end || o.pid <= 0) {
                fprintf(stderr, "kperf symbolize: bad pid '%s'\n", argv[i]);
                return free(addrs), 2;
            }
        } else if (!strcmp(a, "--functions")) o.functions = true;
        else if (!strcmp(a, "--inlines")) o.inlines = true;
        else if (!strcmp(a, "--demangle") || !strncmp(a, "--demangle=", 11)) o.demangle = true;
        else if (!strcmp(a, "--no-demangle")) o.demangle = false;
        else if (!strcmp(a, "--addresses")) o.addresses = true;
        else if (!strcmp(a, "--pretty-print")) o.pretty = true;
        else if (!strcmp(a, "--basenames")) o.basenames = true;
        else if (a[1] != '-') { /* bundled short flags: -afiC */
            for (const char *c = a + 1; *c; c++) {
                switch (*c) {
                case 'f': o.functions = true; break;
                case 'i': o.inlines = true; break;
                case 'C': o.demangle = true; break;
                case 'a': o.addresses = true; break;
                case 'p': o.pretty = true; break;
                case 's': o.basenames = true; break;
                default:
                    fprintf(stderr, "kperf symbolize: unknown option -%c\n", *c);
                    return free(addrs), sym_usage(stderr), 2;
                }
            }
        } else {
            fprintf(stderr, "kperf symbolize: unknown option %s\n", a);
            return free(addrs), sym_usage(stderr), 2;
        }
    }
    if (o.pid > 0 && o.exe) {
        fprintf(stderr, "kperf symbolize: give -e BIN or --pid PID, not both\n");
        return free(addrs), 2;
    }
    if (o.pid <= 0 && !o.exe) o.exe = "a.out";
    if (o.exe && access(o.exe, F_OK) != 0) {
        fprintf(stderr, "kperf symbolize: '%s': No such file\n", o.exe);
        return free(addrs), 1;
    }
    kperf_symbolizer *s;
    if (kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.gnu_compat = o.exe != NULL,
                                                           .include_kernel = o.pid > 0}) < 0)
        return free(addrs), cli_fail("symbolize");
    int rc = o.exe ? kperf_symbolizer_add_module(s, &(kperf_module_desc){.path = o.exe,
                                                                         .file_vaddr = true})
                   : kperf_symbolizer_add_pid(s, (pid_t)o.pid);
    if (rc < 0) {
        int r = cli_fail("symbolize");
        kperf_symbolizer_close(s);
        free(addrs);
        return r;
    }
    if (o.exe) o.addr_width = sym_addr_width(o.exe);
    static sym_out out;
    if (naddrs) {
        for (int i = 0; i < naddrs; i++) sym_print(s, &o, strtoull(addrs[i], NULL, 16), &out);
    } else {
        sym_stdin(s, &o, &out);
    }
    sym_flush(&out);
    kperf_symbolizer_close(s);
    free(addrs);
    return 0;
}
