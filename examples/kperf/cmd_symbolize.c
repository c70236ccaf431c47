/* kperf symbolize: addresses to function and file:line, printed exactly as GNU addr2line
 * prints them for the same flags (a drop-in), or for a live process with --pid.
 *
 *   kperf symbolize -e BIN [-a] [-f] [-i] [-C] [-s] [-p] [ADDR...]   (stdin when no ADDR)
 *   kperf symbolize --pid PID [-a] [-f] [-i] [-C] [ADDR...]
 */
#include "kperf_cli.h"
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct sym_opts {
    const char *exe;
    long pid;
    bool functions, inlines, demangle, addresses, pretty, basenames;
    int addr_width; /* 16 for ELF64, 8 for ELF32 */
} sym_opts;

enum { SYM_PID = CLI_LONG_ONLY, SYM_NO_DEMANGLE };

static const cli_opt sym_opt_table[] = {
    {'e', "exe", "BIN", "the executable or library (default a.out); ADDRs are its own"},
    {SYM_PID, "pid", "PID", "ADDRs are addresses of the live process PID"},
    {'a', "addresses", NULL, "print each address before its lines"},
    {'f', "functions", NULL, "print function names"},
    {'i', "inlines", NULL, "print the inline chain, innermost first"},
    {'C', "demangle", "[=STYLE]", "demangle C++ names"},
    {SYM_NO_DEMANGLE, "no-demangle", NULL, "do not demangle (the default)"},
    {'s', "basenames", NULL, "strip directories from file names"},
    {'p', "pretty-print", NULL, "one line per address"},
    {0, NULL, NULL, NULL}};

static const cli_cmd sym_cmd = {
    "symbolize", "[-e BIN | --pid PID] [-afiCsp] [ADDR...]",
    "Addresses to function and file:line, printed as GNU addr2line prints them for the same\n"
    "flags (-p is addr2line's pretty-print; a process is named with --pid only).",
    sym_opt_table, CLI_OPERANDS,
    "Addresses are read from stdin, one per line, when none are given. The answers are\n"
    "addr2line's where addr2line is right; docs/symbols.md lists the measured cases where it\n"
    "is not (clang DWARF 5 inline frames, the DWARF 5 file index) and kperf differs.\n"};

static int sym_opt(int key, const char *v, void *user) {
    sym_opts *o = (sym_opts *)user;
    switch (key) {
    case 'e': o->exe = v; return 0;
    case SYM_PID:
        if (cli_parse_long("symbolize", "--pid", v, 1, 0x7fffffff, &o->pid)) return -1;
        return 0;
    case 'a': o->addresses = true; return 0;
    case 'f': o->functions = true; return 0;
    case 'i': o->inlines = true; return 0;
    case 'C': /* addr2line's styles: kperf demangles the Itanium C++ ABI only */
        if (v && strcmp(v, "auto") && strcmp(v, "gnu-v3"))
            return fprintf(stderr, "kperf symbolize: --demangle=%s: only C++ (Itanium ABI) names "
                                   "are demangled: auto or gnu-v3\n", v), -1;
        o->demangle = true;
        return 0;
    case SYM_NO_DEMANGLE: o->demangle = false; return 0;
    case 's': o->basenames = true; return 0;
    case 'p': o->pretty = true; return 0;
    }
    return 1;
}

/* 0 when @p path is a regular ELF file; else says why (as plainly as addr2line) and -1. */
static int sym_check_elf(const char *path) {
    struct stat st;
    unsigned char m[4] = {0};
    if (stat(path, &st) != 0) {
        fprintf(stderr, "kperf symbolize: '%s': No such file\n", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "kperf symbolize: '%s': not a regular file\n", path);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(m, 1, 4, f) : 0;
    if (f) fclose(f);
    if (!f) {
        fprintf(stderr, "kperf symbolize: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (n != 4 || memcmp(m, "\x7f" "ELF", 4)) {
        fprintf(stderr, "kperf symbolize: %s: not an ELF file\n", path);
        return -1;
    }
    return 0;
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

/* Prints one address's answer, its n frames (n <= 0: none), as addr2line does. */
static void sym_emit(const sym_opts *o, uint64_t addr, const kperf_frame *fr, int n, sym_out *out) {
    if (o->addresses) {
        if (o->addr_width == 8) sym_puthex(out, addr & 0xffffffffu, 8);
        else sym_puthex(out, addr, 16);
        sym_puts(out, o->pretty ? ": " : "\n");
    }
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

/* Addresses read and not answered yet: answered together, on every CPU, with the answers
 * one lookup after another would give (kperf_symbolizer_lookup_all). Two batches take
 * turns: while one batch's answers are printed on a thread of their own, the next is read
 * and looked up. */
enum { SYM_BATCH = 1 << 14 };
typedef struct sym_batch {
    uint64_t addr[SYM_BATCH];
    size_t n;
    kperf_frames f; /* kept from batch to batch */
    kperf_symbolizer *s;
    const sym_opts *o;
    sym_out *out;
    bool looked_up; /* f holds this batch's answers, else print one lookup at a time */
} sym_batch;

typedef struct sym_pipe {
    sym_batch b[2];
    int cur;         /* the batch being filled */
    pthread_t th;    /* prints the other batch, while printing is set */
    bool printing;
} sym_pipe;

static void *sym_print(void *arg) {
    sym_batch *b = (sym_batch *)arg;
    const sym_opts *o = b->o;
    pid_t pid = o->exe ? 0 : (pid_t)o->pid;
    size_t max = o->inlines ? 64 : 1;
    for (size_t i = 0; i < b->n; i++) {
        if (b->looked_up) {
            sym_emit(o, b->addr[i], b->f.at[i], b->f.rc[i], b->out);
        } else { /* out of memory for the batch: one at a time */
            kperf_frame fr[64];
            int n = kperf_symbolizer_lookup(b->s, pid, b->addr[i], fr, max);
            sym_emit(o, b->addr[i], fr, n, b->out);
        }
    }
    b->n = 0;
    return NULL;
}

/* Waits until every answer given so far is in the output buffer. */
static void sym_wait(sym_pipe *p) {
    if (p->printing) pthread_join(p->th, NULL);
    p->printing = false;
}

/* Looks up the batch being filled, then prints it on a thread (in the caller's thread when
 * none starts) once the batch before it is printed. */
static void sym_run(sym_pipe *p) {
    sym_batch *b = &p->b[p->cur];
    if (!b->n) return;
    const sym_opts *o = b->o;
    pid_t pid = o->exe ? 0 : (pid_t)o->pid;
    if (b->n > 1) kperf_symbolizer_preload(b->s, pid, b->addr, b->n); /* on every CPU */
    b->looked_up = kperf_symbolizer_lookup_all(b->s, pid, b->addr, b->n, o->inlines ? 64 : 1,
                                               &b->f) == 0;
    sym_wait(p);
    /* (one lookup at a time, in order, is done here: gnu_compat names follow that order) */
    if (b->looked_up && pthread_create(&p->th, NULL, sym_print, b) == 0) p->printing = true;
    else sym_print(b);
    p->cur ^= 1;
}

static void sym_add(sym_pipe *p, uint64_t addr) {
    sym_batch *b = &p->b[p->cur];
    b->addr[b->n++] = addr;
    if (b->n == SYM_BATCH) sym_run(p);
}

/* Whether a read of stdin would find data (or the end) at once. */
static bool sym_ready(void) {
    struct pollfd pf = {0, POLLIN, 0};
    return poll(&pf, 1, 0) == 1;
}

/* Reads stdin line by line; every answer is printed and the output flushed before a read
 * that would block, so an interactive caller gets each answer at once while a pipe of many
 * addresses is answered in full batches. */
static void sym_stdin(sym_pipe *p, sym_out *out) {
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
                if (!sym_ready()) { /* every complete line read so far, answered */
                    sym_run(p);
                    sym_wait(p);
                    sym_flush(out);
                }
                ssize_t r = read(0, buf + have, sizeof buf - have);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) {
                    if (!have) return;
                    nl = buf + have; /* last line without newline */
                    if (have == sizeof buf) nl--;
                } else {
                    have += (size_t)r;
                    continue;
                }
            }
        }
        *nl = 0;
        sym_add(p, strtoull(line, NULL, 16));
        start = (size_t)(nl - buf) + 1;
        if (start >= have) start = have = 0;
    }
}

int cmd_symbolize(int argc, char **argv) {
    sym_opts o;
    memset(&o, 0, sizeof o);
    o.pid = -1;
    o.addr_width = 16;
    cli_args ca;
    int prc = cli_parse(&sym_cmd, argc, argv, &ca, sym_opt, &o);
    if (prc != CLI_OK) return prc == CLI_HELP ? 0 : 2;
    char **addrs = ca.rest;
    int naddrs = ca.nrest;
    cli_args_free(&ca);
    if (o.pid > 0 && o.exe) return cli_usage_error("symbolize", "give -e BIN or --pid PID, not both");
    if (o.pid <= 0 && !o.exe) o.exe = "a.out";
    if (o.exe && sym_check_elf(o.exe) < 0) return 1;
    kperf_symbolizer *s;
    if (kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.gnu_compat = o.exe != NULL,
                                                           .include_kernel = o.pid > 0}) < 0)
        return cli_fail("symbolize");
    int rc = o.exe ? kperf_symbolizer_add_module(s, &(kperf_module_desc){.path = o.exe,
                                                                         .file_vaddr = true})
                   : kperf_symbolizer_add_pid(s, (pid_t)o.pid);
    if (rc < 0) {
        int r = cli_fail("symbolize");
        kperf_symbolizer_close(s);
        return r;
    }
    if (o.exe) o.addr_width = sym_addr_width(o.exe);
    static sym_out out;
    static sym_pipe pipe;
    for (int k = 0; k < 2; k++) pipe.b[k].s = s, pipe.b[k].o = &o, pipe.b[k].out = &out;
    if (naddrs) {
        for (int i = 0; i < naddrs; i++) sym_add(&pipe, strtoull(addrs[i], NULL, 16));
    } else {
        sym_stdin(&pipe, &out);
    }
    sym_run(&pipe);
    sym_wait(&pipe);
    sym_flush(&out);
    for (int k = 0; k < 2; k++) kperf_frames_free(&pipe.b[k].f);
    kperf_symbolizer_close(s);
    return 0;
}
