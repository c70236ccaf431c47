/* pprof_server: a program that serves its own CPU profile the way Go programs do, at
 * http://127.0.0.1:PORT/debug/pprof/profile?seconds=N, from a tiny HTTP loop on its own
 * thread. `go tool pprof`, Parca and Grafana Pyroscope (Alloy's pprof scrape) read it.
 *
 *   build/examples/pprof_server [PORT] [SECONDS]   (default: any free port, run forever)
 *   go tool pprof -top http://127.0.0.1:PORT/debug/pprof/profile?seconds=5
 *
 * The main thread burns CPU in pprof_hot() (the function a profile should show on top); the
 * server thread accepts one connection at a time and answers a profile request with
 * kperf_pprof_profile_self(): every thread of the process sampled at 100 Hz with call
 * chains for N seconds (default 30, as Go's handler), symbolized, gzip'd profile.proto.
 * It prints "listening on 127.0.0.1:PORT" once the socket is bound. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

__attribute__((noinline)) static void pprof_hot(void) {
    for (unsigned long i = 0; i < 1000000; i++) sink += i * i ^ (sink >> 3);
}

/* Writes all of buf (a short write is retried). */
static void send_all(int fd, const void *buf, size_t n) {
    const char *p = (const char *)buf;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k <= 0) return;
        p += k, n -= (size_t)k;
    }
}

static void reply(int fd, const char *status, const char *type, const void *body, size_t n) {
    char head[256];
    int k = snprintf(head, sizeof head, "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, type, n);
    send_all(fd, head, (size_t)k);
    send_all(fd, body, n);
}

/* One request: "GET /debug/pprof/profile[?seconds=N] HTTP/1.x". */
static void serve(int fd) {
    char req[2048] = "";
    size_t n = 0;
    while (n < sizeof req - 1 && !strstr(req, "\r\n\r\n")) { /* the request head */
        ssize_t k = read(fd, req + n, sizeof req - 1 - n);
        if (k <= 0) break;
        req[n += (size_t)k] = 0;
    }
    req[n] = 0;
    char path[1024];
    if (sscanf(req, "GET %1023s ", path) != 1) {
        reply(fd, "400 Bad Request", "text/plain", "bad request\n", 12);
        return;
    }
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    if (plen != 20 || strncmp(path, "/debug/pprof/profile", 20) != 0) {
        reply(fd, "404 Not Found", "text/plain", "not found\n", 10);
        return;
    }
    kperf_pprof_profile_desc d;
    memset(&d, 0, sizeof d);
    const char *s = q ? strstr(q, "seconds=") : NULL;
    if (s) {
        char *e;
        d.seconds = strtod(s + 8, &e);
        if (e == s + 8 || d.seconds <= 0 || d.seconds > 3600) {
            reply(fd, "400 Bad Request", "text/plain", "bad seconds\n", 12);
            return;
        }
    }
    uint8_t *buf;
    size_t len;
    if (kperf_pprof_profile_self(&d, &buf, &len) < 0) {
        char msg[1100];
        int k = snprintf(msg, sizeof msg, "kperf: %s\n", kperf_errmsg());
        reply(fd, "500 Internal Server Error", "text/plain", msg, (size_t)k);
        return;
    }
    reply(fd, "200 OK", "application/octet-stream", buf, len);
    kperf_pprof_buffer_free(buf);
}

static void *server(void *arg) {
    int lfd = *(int *)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) continue;
        struct timeval tv = {10, 0}; /* a client that never sends its request */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        serve(fd);
        close(fd);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    double seconds = argc > 2 ? atof(argv[2]) : 0;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET, a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 8) ||
        getsockname(lfd, (struct sockaddr *)&a, &alen)) {
        perror("pprof_server: socket");
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    pthread_t t;
    pthread_create(&t, NULL, server, &lfd);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        pprof_hot();
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (seconds <= 0 || (double)(now.tv_sec - t0.tv_sec) < seconds);
    return 0;
}
