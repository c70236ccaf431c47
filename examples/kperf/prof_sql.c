/* kperf sql: events into an in-memory SQLite database, a query per interval (perf-prof's
 * sql). Each event is a table (its alias= when given, else the tracepoint's name) whose
 * columns are _time, _cpu, _pid, _tid and the event's fields (integers, text, other
 * arrays as blobs); --query SQL runs every -i MS and at the end over the rows of that
 * interval (then they are deleted), printed sqlite3-style: a header, then `a|b|c` rows.
 * Built only when SQLite is found (KPERF_HAVE_SQLITE); otherwise the command says so. */
#include "prof.h"
#include <stdlib.h>
#include <string.h>
#ifdef KPERF_HAVE_SQLITE
#include <sqlite3.h>
#endif

enum { SQL_QUERY = CLI_LONG_ONLY + 110 };

typedef struct sql_table {
    char name[128];
    const kperf_tp_format *fmt;    /* NULL: no fields (a probe) */
#ifdef KPERF_HAVE_SQLITE
    sqlite3_stmt *ins;
#endif
} sql_table;

typedef struct sql_state {
    const char *query;
    kperf_evlist *list;            /* the events as the framework will parse them */
    sql_table t[PROF_MAX_EVENTS];
    size_t n;
    uint64_t rows, bad;
#ifdef KPERF_HAVE_SQLITE
    sqlite3 *db;
    sqlite3_stmt *q;
#endif
} sql_state;

static int sql_opt(prof_env *e, int key, const char *arg) {
    sql_state *s = (sql_state *)e->priv;
    if (key == SQL_QUERY) return s->query = arg, 0;
    return 1;
}

#ifdef KPERF_HAVE_SQLITE
static bool sql_field_column(const kperf_tp_field *f) {
    return !(f->flags & KPERF_TP_FIELD_COMMON);
}

static int sql_exec(prof_env *e, sql_state *s, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) == SQLITE_OK) return 0;
    fprintf(stderr, "kperf %s: %s: %s\n", e->p->name, sql, err ? err : "error");
    sqlite3_free(err);
    return -1;
}

/* Appends to a statement text; -1 when it does not fit. */
static int sql_cat(char *buf, size_t size, size_t *len, const char *fmt, const char *a) {
    int k = snprintf(buf + *len, size - *len, fmt, a);
    if (k < 0 || (size_t)k >= size - *len) return -1;
    *len += (size_t)k;
    return 0;
}

/* CREATE TABLE and the INSERT statement of event @p i. */
static int sql_table_make(prof_env *e, sql_state *s, size_t i) {
    sql_table *t = &s->t[i];
    const kperf_event *x = &s->list->events[i];
    const char *name = x->attrs.alias ? x->attrs.alias : t->fmt ? t->fmt->name : x->name;
    const char *colon = strrchr(name, ':');
    snprintf(t->name, sizeof t->name, "%s", colon && !x->attrs.alias ? colon + 1 : name);
    for (char *c = t->name; *c; c++)
        if (*c == '"') *c = '_';
    for (size_t j = 0; j < i; j++)
        if (!strcmp(s->t[j].name, t->name))
            return fprintf(stderr, "kperf %s: two events make table \"%s\": give one an "
                           "alias=NAME\n", e->p->name, t->name), -1;
    char create[8192], ins[8192];
    size_t cl = 0, il = 0, ncol = 4;
    if (sql_cat(create, sizeof create, &cl, "CREATE TABLE \"%s\" (_time INTEGER, _cpu INTEGER, "
                "_pid INTEGER, _tid INTEGER", t->name) < 0 ||
        sql_cat(ins, sizeof ins, &il, "INSERT INTO \"%s\" VALUES (?, ?, ?, ?", t->name) < 0)
        return fprintf(stderr, "kperf %s: %s: too many fields\n", e->p->name, t->name), -1;
    for (size_t f = 0; t->fmt && f < t->fmt->nfields; f++) {
        const kperf_tp_field *fd = &t->fmt->fields[f];
        if (!sql_field_column(fd)) continue;
        const char *type = fd->flags & KPERF_TP_FIELD_STRING ? "TEXT" :
                           (fd->count == 1 && !(fd->flags & (KPERF_TP_FIELD_DATA_LOC |
                            KPERF_TP_FIELD_REL_LOC | KPERF_TP_FIELD_FLEX))) ? "INTEGER" : "BLOB";
        char col[300];
        snprintf(col, sizeof col, ", \"%s\" %s", fd->name, type);
        if (sql_cat(create, sizeof create, &cl, "%s", col) < 0 ||
            sql_cat(ins, sizeof ins, &il, "%s", ", ?") < 0)
            return fprintf(stderr, "kperf %s: %s: too many fields\n", e->p->name, t->name), -1;
        ncol++;
    }
    if (sql_cat(create, sizeof create, &cl, "%s", ")") < 0 ||
        sql_cat(ins, sizeof ins, &il, "%s", ")") < 0)
        return fprintf(stderr, "kperf %s: %s: too many fields\n", e->p->name, t->name), -1;
    if (sql_exec(e, s, create) < 0) return -1;
    if (sqlite3_prepare_v2(s->db, ins, -1, &t->ins, NULL) != SQLITE_OK)
        return fprintf(stderr, "kperf %s: %s\n", e->p->name, sqlite3_errmsg(s->db)), -1;
    (void)ncol;
    return 0;
}

static int sql_init(prof_env *e) {
    sql_state *s = (sql_state *)e->priv;
    if (prof_refuse_than(e)) return 2;
    if (e->callchain) return cli_usage_error("sql", "-g is not used by sql");
    if (kperf_evlist_parse(&s->list, e->spec, NULL) < 0) return cli_fail(e->p->name);
    if (s->list->nevents > PROF_MAX_EVENTS)
        return fprintf(stderr, "kperf sql: at most %d events\n", PROF_MAX_EVENTS), 1;
    if (sqlite3_open(":memory:", &s->db) != SQLITE_OK)
        return fprintf(stderr, "kperf sql: cannot open an in-memory database\n"), 1;
    s->n = s->list->nevents;
    for (size_t i = 0; i < s->n; i++) {
        const kperf_event *x = &s->list->events[i];
        if (x->type == 2 /* PERF_TYPE_TRACEPOINT */ && e->tfs &&
            kperf_tracefs_format_by_id(e->tfs, (uint32_t)x->config[0], &s->t[i].fmt) < 0)
            return cli_fail(e->p->name);
        if (sql_table_make(e, s, i) < 0) return 1;
    }
    if (s->query && sqlite3_prepare_v2(s->db, s->query, -1, &s->q, NULL) != SQLITE_OK)
        return fprintf(stderr, "kperf sql: --query: %s\n", sqlite3_errmsg(s->db)), 1;
    if (s->query && !s->q) return fprintf(stderr, "kperf sql: --query: no statement\n"), 1;
    return sql_exec(e, s, "BEGIN") < 0 ? 1 : 0;
}

static int sql_sample(prof_env *e, int ev, const kperf_record *rec) {
    sql_state *s = (sql_state *)e->priv;
    if ((size_t)ev >= s->n) return 0;
    sql_table *t = &s->t[ev];
    sqlite3_stmt *st = t->ins;
    const void *raw = rec->sample.raw;
    size_t size = rec->sample.raw_size;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)rec->sample.time);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)rec->sample.cpu);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)rec->sample.pid);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)rec->sample.tid);
    int col = 5;
    for (size_t f = 0; t->fmt && f < t->fmt->nfields; f++) {
        const kperf_tp_field *fd = &t->fmt->fields[f];
        if (!sql_field_column(fd)) continue;
        const char *str;
        const void *bytes;
        size_t len;
        int64_t v;
        if (!raw) {
            sqlite3_bind_null(st, col);
        } else if (fd->flags & KPERF_TP_FIELD_STRING) {
            if (kperf_tp_field_str(fd, raw, size, &str, &len) == 0)
                sqlite3_bind_text(st, col, str, (int)len, SQLITE_TRANSIENT);
            else sqlite3_bind_null(st, col);
        } else if (kperf_tp_field_int(fd, raw, size, &v) == 0) {
            sqlite3_bind_int64(st, col, (sqlite3_int64)v);
        } else if (kperf_tp_field_bytes(fd, raw, size, &bytes, &len) == 0) {
            sqlite3_bind_blob(st, col, bytes, (int)len, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_null(st, col);
        }
        col++;
    }
    if (sqlite3_step(st) != SQLITE_DONE) s->bad++;
    else s->rows++;
    return 0;
}

static void sql_print(prof_env *e, sql_state *s) {
    int nc = sqlite3_column_count(s->q);
    for (int c = 0; c < nc; c++) fprintf(e->out, "%s%s", c ? "|" : "", sqlite3_column_name(s->q, c));
    fputc('\n', e->out);
    int rc;
    while ((rc = sqlite3_step(s->q)) == SQLITE_ROW) {
        for (int c = 0; c < nc; c++) {
            const unsigned char *v = sqlite3_column_text(s->q, c);
            fprintf(e->out, "%s%s", c ? "|" : "", v ? (const char *)v : "");
        }
        fputc('\n', e->out);
    }
    if (rc != SQLITE_DONE) fprintf(stderr, "kperf sql: --query: %s\n", sqlite3_errmsg(s->db));
    sqlite3_reset(s->q);
}

static void sql_interval(prof_env *e, bool final) {
    sql_state *s = (sql_state *)e->priv;
    if (!s->db) return;
    sql_exec(e, s, "COMMIT");
    if (!final) fputc('\n', e->out);
    if (s->q) {
        sql_print(e, s);
    } else { /* no query: the rows of each table */
        for (size_t i = 0; i < s->n; i++) {
            char q[256];
            snprintf(q, sizeof q, "SELECT count(*) FROM \"%s\"", s->t[i].name);
            sqlite3_stmt *st;
            if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK) continue;
            if (sqlite3_step(st) == SQLITE_ROW)
                fprintf(e->out, "%s: %lld rows\n", s->t[i].name, (long long)sqlite3_column_int64(st, 0));
            sqlite3_finalize(st);
        }
    }
    if (s->bad) fprintf(stderr, "kperf sql: %llu rows could not be stored\n", (unsigned long long)s->bad);
    s->bad = 0;
    if (final) return;
    for (size_t i = 0; i < s->n; i++) {
        char q[256];
        snprintf(q, sizeof q, "DELETE FROM \"%s\"", s->t[i].name);
        sql_exec(e, s, q);
    }
    sql_exec(e, s, "BEGIN");
}

static void sql_deinit(prof_env *e) {
    sql_state *s = (sql_state *)e->priv;
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) sqlite3_finalize(s->t[i].ins);
    sqlite3_finalize(s->q);
    if (s->db) sqlite3_close(s->db);
    kperf_evlist_free(s->list);
}
#else
static int sql_init(prof_env *e) {
    (void)e;
    fprintf(stderr, "kperf sql: this kperf was built without SQLite (install libsqlite3-dev, "
                    "or your system's SQLite development package, and rebuild)\n");
    return 1;
}
static int sql_sample(prof_env *e, int ev, const kperf_record *rec) {
    (void)e, (void)ev, (void)rec;
    return 0;
}
static void sql_interval(prof_env *e, bool final) { (void)e, (void)final; }
static void sql_deinit(prof_env *e) { (void)e; }
#endif

static const cli_opt sql_opts[] = {
    {SQL_QUERY, "query", "SQL", "the query run every interval and at the end (default: the "
                                "row count of each table)"},
    {0, NULL, NULL, NULL}};

const profiler prof_sql = {
    "sql", "-e EVENTS [--query SQL] [options] [-- COMMAND [ARGS...]]",
    "Events into an in-memory SQLite database: a table per event (its alias=, else the\n"
    "tracepoint name) with the columns _time (ns), _cpu, _pid, _tid and the event's\n"
    "fields; --query SQL runs every -i MS and at the end over that interval's rows,\n"
    "printed as a header line and `a|b|c` rows. Needs a kperf built with SQLite.",
    "Examples:\n"
    "  kperf sql -e syscalls:sys_enter_getpid --query 'select count(*) from sys_enter_getpid' -- ./prog\n"
    "  kperf sql -e sched:sched_wakeup -a -i 1000 \\\n"
    "        --query 'select comm, count(*) n from sched_wakeup group by comm order by n desc limit 10'\n"
    "  kperf sql -e 'syscalls:sys_enter_read//alias=r/' --query 'select fd, sum(count) from r group by fd' -p 1234\n",
    sql_opts, sql_opt, KPERF_EA_ALIAS, true, false, sizeof(sql_state), sql_init, sql_sample,
    sql_interval, sql_deinit};
