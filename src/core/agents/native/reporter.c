/*
 * The agent's reporting: settings read once from the environment, the bounded
 * queue of reports, the reporter thread that sends them to the collector
 * (batched, every 50 ms or sooner when many wait) and refills the gate, the
 * last reports at exit, and a fork's fresh start in the child.
 */
#include "agent.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int agent_mode; /* set once by init() */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
atomic_int standing_back;
static char collector_host[64];
static int collector_port;
static char token[128];
pid_t my_pid;
static double started_ts;
TLS int depth;

double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- reports queue --------------------------------------------------------- */

/*
 * The queue: one ring of bytes (MAX_QUEUE_BYTES, mapped once, its pages touched as it fills) holding the wire frames
 * back to back. A report is copied in under the lock, no allocation; the reporter sends the filled part straight
 * from the ring (two sends when it wraps) and only then gives the space back.
 *
 * The writes stay on memory still in the caches: once the reporter has sent the ring up to a point past
 * HOT_BYTES with little left after it (at most COMPACT_BYTES), that little is moved back to the ring's beginning and
 * the writes go on from there; the reporter wakes at WAKE_BYTES. A ring written round its whole 32 MiB at 100 MiB/s
 * (100,000 msg/s of 1 KiB: the reporter never found it empty) made every copy into it and every send out of it a
 * cache miss.
 */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond;
static unsigned char *ring;    /* MAP_FAILED: no ring, every report dropped */
static size_t r_head, r_tail;  /* bytes written and bytes given back since the ring last started again, never wrapping */
static size_t q_count;         /* reports in the ring not yet taken by the reporter */
static size_t q_bytes;         /* their bytes */
atomic_size_t q_unsent; /* reports in the ring not yet sent (taken ones too) */
static atomic_int pump_held;   /* adopting: only the Python agent's rounds send the ring (zmq_debug_agent_pump) */
static int reporter_running, reporter_stopping, reporter_done;
static pthread_t reporter;

/* The part [from, to) of the ring as one run, or two where it wraps. */
static int ring_runs(size_t from, size_t to, struct run r[2]) {
  size_t at = from % MAX_QUEUE_BYTES, n = to - from, first = n < MAX_QUEUE_BYTES - at ? n : MAX_QUEUE_BYTES - at;
  if (!n) return 0;
  r[0] = (struct run){ring + at, first};
  r[1] = (struct run){ring, n - first};
  return n > first ? 2 : 1;
}

/* The reporter sent (or dropped) the ring up to `to` (under q_lock): the space is free again; past HOT_BYTES, what is
   left (a little: what came during the send) goes back to the ring's beginning, and the writes with it. The reporter
   is the only one to move the ring's reports (a mark of the Python agent's is used before this). */
static void give_back(size_t to) {
  r_tail = to;
  size_t at = r_tail % MAX_QUEUE_BYTES, left = r_head - r_tail;
  if (at >= HOT_BYTES && left <= COMPACT_BYTES && left <= at && at + left <= MAX_QUEUE_BYTES) {
    memcpy(ring, ring + at, left);
    r_tail = 0;
    r_head = left;
  }
}

void enqueue_bytes(const unsigned char *p, size_t n) {
  int wake = 0;
  pthread_mutex_lock(&q_lock);
  if (UNLIKELY(!ring)) ring = mmap(NULL, MAX_QUEUE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  /* empty: start again at its beginning, on pages already touched (a page fault per 4 KiB costs more than the copy) */
  if (r_head == r_tail) r_head = r_tail = 0;
  size_t at = r_head % MAX_QUEUE_BYTES;
  if (q_count >= MAX_QUEUE || r_head - r_tail + n > MAX_QUEUE_BYTES || reporter_done || ring == MAP_FAILED) {
    pthread_mutex_unlock(&q_lock);
    count_dropped(1);
    return;
  }
  size_t first = n < MAX_QUEUE_BYTES - at ? n : MAX_QUEUE_BYTES - at;
  memcpy(ring + at, p, first);
  if (n > first) memcpy(ring, p + first, n - first);
  r_head += n;
  atomic_fetch_add_explicit(&q_unsent, 1, memory_order_relaxed);
  if (++q_count == WAKE_AT || (q_bytes < WAKE_BYTES && q_bytes + n >= WAKE_BYTES)) wake = 1;
  q_bytes += n;
  int running = reporter_running;
  pthread_mutex_unlock(&q_lock);
  if (wake) pthread_cond_signal(&q_cond);
  /* adopting: the Python agent's reporter takes the ring (zmq_debug_agent_send_queued) */
  if (!running && !atomic_load_explicit(&adopting, memory_order_relaxed)) start_reporter();
}

void enqueue(struct item *it) {
  enqueue_bytes(it->data, it->size);
  free(it);
}

int reporter_active(void) {
  pthread_mutex_lock(&q_lock);
  int running = reporter_running;
  pthread_mutex_unlock(&q_lock);
  return running;
}

/* ---- the reporter thread ------------------------------------------------------- */

static int conn_fd = -1;
static int reconnected;
static double retry_at;

int send_fd(int fd, const unsigned char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    p += w;
    n -= (size_t)w;
  }
  return 1;
}

/* The runs to the collector: in the shared ring once it is on (0: full, nothing written: the caller keeps them
   queued, or drops a single report), else on fd (-1: the send failed, or no collector). */
static int send_runs(int fd, const struct run *r, int k) {
  if (fd < 0) return -1;
  if (shm_on()) return shm_put_runs(r, k);
  for (int i = 0; i < k; i++)
    if (!send_fd(fd, r[i].p, r[i].n)) return -1;
  return 1;
}

/* The connection failed: closed, tried again in 2 s. */
static void lose_collector(void) {
  close(conn_fd);
  conn_fd = -1;
  retry_at = now_s() + 2;
}

/* One report; 0 when it was not sent (the ring full, or the connection lost). */
static int send_item(struct item *it) {
  if (!it) return 1;
  struct run r = {it->data, it->size};
  int ok = send_runs(conn_fd, &r, 1);
  free(it);
  if (ok < 0) lose_collector();
  return ok > 0;
}

static struct item *process_item(void) {
  struct sb b = {0};
  char cmd[8192];
  ssize_t n = -1;
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    n = read(fd, cmd, sizeof cmd);
    close(fd);
  }
  sb_printf(&b, "{\"type\":\"process\",\"pid\":%d,\"ppid\":%d,\"argv\":[", (int)getpid(), (int)getppid());
  const char *name = "";
  for (ssize_t i = 0; n > 0 && i < n;) {
    size_t len = strnlen(cmd + i, (size_t)(n - i));
    if (i) sb_add(&b, ",", 1);
    else name = cmd;
    sb_str(&b, cmd + i, len);
    i += (ssize_t)len + 1;
  }
  sb_add(&b, "]", 1);
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd)) {
    sb_add(&b, ",\"cwd\":", 7);
    sb_str(&b, cwd, strlen(cwd));
  }
  if (!*name) name = program_invocation_name ? program_invocation_name : "";
  const char *slash = strrchr(name, '/');
  if (slash) name = slash + 1;
  sb_add(&b, ",\"name\":", 8);
  sb_str(&b, name, strlen(name));
  int ma = 0, mi = 0, pa = 0;
  if (get_zmq_version()) real_zmq_version(&ma, &mi, &pa);
  sb_printf(&b, ",\"runtime\":\"native libzmq %d.%d.%d\",\"ts\":%.6f}", ma, mi, pa, started_ts);
  return json_item(&b);
}

static int connect_collector(void) {
  if (conn_fd >= 0) return 1;
  double now = now_s();
  if (now < retry_at) return 0;
  retry_at = now + 2;
  struct sockaddr_storage sa;
  socklen_t salen;
  memset(&sa, 0, sizeof sa);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&sa;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&sa;
  if (inet_pton(AF_INET, collector_host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)collector_port);
    salen = sizeof *a4;
  } else if (inet_pton(AF_INET6, collector_host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)collector_port);
    salen = sizeof *a6;
  } else {
    return 0;
  }
  /* close-on-exec: a program this one runs must not inherit the agent's connection */
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return 0;
  int r = connect(fd, (struct sockaddr *)&sa, salen);
  if (r != 0 && errno == EINPROGRESS) {
    struct pollfd p = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t el = sizeof err;
    r = poll(&p, 1, 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0 ? 0 : -1;
  }
  if (r != 0) {
    close(fd);
    return 0;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  conn_fd = fd;
  struct sb b = {0};
  sb_add(&b, "{\"type\":\"hello\",\"token\":", 24);
  sb_str(&b, token, strlen(token));
  sb_printf(&b, ",\"agent\":\"native\",\"version\":1,\"pid\":%d", (int)getpid());
  int ring_fd = shm_offer();
  if (ring_fd >= 0) sb_printf(&b, ",\"ring\":{\"fd\":%d,\"bytes\":%zu,\"nonce\":\"%s\"}", ring_fd, shm_bytes(), shm_offer_nonce());
  sb_add(&b, "}", 1);
  if (!send_item(json_item(&b)) || !send_item(process_item())) return 0;
  if (reconnected) {
    /* a new collector: tell it the sockets that are open (queued reports follow) */
    pthread_mutex_lock(&reg_lock);
    struct item *opens = NULL;
    for (int i = 0; i < BUCKETS; i++) {
      for (struct sock *st = buckets[i]; st; st = st->next) {
        struct sb s = {0};
        sb_printf(&s, "{\"type\":\"socket\",\"op\":\"open\",\"socket\":%u,\"socketType\":\"%s\",\"ts\":%.6f}", st->id, type_name(st->type), st->ts);
        struct item *it = json_item(&s);
        if (it) {
          it->next = opens;
          opens = it;
        }
      }
    }
    pthread_mutex_unlock(&reg_lock);
    while (opens) {
      struct item *n2 = opens->next;
      if (conn_fd >= 0) send_item(opens);
      else free(opens);
      opens = n2;
    }
  }
  reconnected = 1;
  return conn_fd >= 0;
}

static unsigned long reported_dropped;

/* hand_runs hands the queue's runs over with send_runs; bench: handed over, not written. */
#if BENCH_CEILING == 3
#define hand_over(fd, r, k) ((void)(fd), (void)(r), (k) >= 0)
#elif BENCH_CEILING == 4
/* bench: handed over and read, one load a cache line (what any hand-over to another core costs the program: the
   lines are taken back from that core before the next write), then discarded */
static volatile unsigned char read_sink;
static int read_runs(const struct run *r, int k) {
  unsigned char sum = 0;
  for (int i = 0; i < k; i++)
    for (size_t at = 0; at < r[i].n; at += 64) sum ^= r[i].p[at];
  read_sink = sum;
  return 1;
}
#define hand_over(fd, r, k) ((void)(fd), read_runs((r), (k)))
#else
#define hand_over send_runs
#endif
/* The whole wire frames in the ring from `from` up to *to (moved back to the end of the last one: a mark taken before
   the ring started again at its beginning may fall inside a frame); written, not yet given back: nobody else touches
   them. */
static size_t frames_upto(size_t from, size_t *to) {
  size_t count = 0;
  while (from + 4 <= *to) {
    unsigned char h[4];
    for (int i = 0; i < 4; i++) h[i] = ring[(from + (size_t)i) % MAX_QUEUE_BYTES];
    size_t next = from + 4 + ((size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3]);
    if (next > *to) break;
    from = next;
    count++;
  }
  *to = from;
  return count;
}

/* The shared ring on: [from, *to) cut to the whole frames it has room for (the rest stays queued: never waits);
   their count, or `count` when all fit. */
static size_t fit_shared_ring(size_t from, size_t *to, size_t count) {
  size_t room = shm_room();
  if (!shm_on() || *to - from <= room) return count;
  *to = from + room;
  return frames_upto(from, to);
}

/* What hand_runs did with the queue's [from, to): it ends the taken part at `to` (the rest stays queued), `sent`
   reports handed over, `dropped` counted lost. */
struct taken {
  size_t to, sent, dropped;
  int failed; /* the send failed: the connection is lost */
};

/* 1 while the shared ring had no room for all that waits: the reporter tries again in RING_RETRY_MS, not at once. */
static int ring_full;
#define RING_RETRY_MS 5

/* Hands the queue's [from, to) (`count` whole reports) to the collector on fd. The shared ring takes what it has room
   for and the rest stays queued for the next try: the program never waits, and the queue absorbs a slow moment of the
   collector as it does behind a blocked send on the socket. A failed send (or no collector) drops them all, counted by
   the caller. */
static struct taken hand_runs(int fd, size_t from, size_t to, size_t count) {
  size_t fit = to, put = fit_shared_ring(from, &fit, count);
  struct run r[2];
  int ok = from == to ? 1 : hand_over(fd, r, ring_runs(from, fit, r));
  ring_full = ok == 0 || (ok > 0 && fit != to);
  if (ok < 0) return (struct taken){to, 0, count, 1};
  if (ok == 0) return (struct taken){from, 0, 0, 0};
  return (struct taken){fit, put, 0, 0};
}

/* Under q_lock: the queue after hand_runs took [from, t.to) of [from, to) (count reports) out of it; `emptied`: the
   caller had zeroed q_count and q_bytes when it took them. */
static void queue_taken(size_t from, size_t to, size_t count, struct taken t, int emptied) {
  if (t.to != from) give_back(t.to);
  size_t gone = t.sent + t.dropped;
  if (emptied) {
    q_count += count - gone;
    q_bytes += to - t.to;
  } else {
    q_count -= gone < q_count ? gone : q_count;
    q_bytes -= t.to - from < q_bytes ? t.to - from : q_bytes;
  }
}

/* Sends what is queued, the failures and the drops; what cannot be sent is dropped (counted). */
static void flush(int final) {
  pthread_mutex_lock(&q_lock);
  size_t from = r_tail, to = r_head, count = q_count;
  q_count = q_bytes = 0;
  pthread_mutex_unlock(&q_lock);
  unsigned long drops = total_dropped();
  if (from == to) ring_full = 0;
  if (from == to && !failures_pending() && drops == reported_dropped && !final) return;
  if (connect_collector() && (!shm_switch(conn_fd) || shm_peer_gone(conn_fd))) lose_collector();
  /* nobody listens: what is queued is lost (counted); else the ring's filled part, in one send or two when it wraps */
  struct taken t = conn_fd < 0 ? (struct taken){to, 0, count, 0} : hand_runs(conn_fd, from, to, count);
  /* the exit: what the shared ring still has no room for is lost (counted; the caller gave the collector time) */
  if (final && t.to != to) t = (struct taken){to, t.sent, count - t.sent, 0};
  count_dropped(t.dropped);
  if (t.failed) lose_collector();
  pthread_mutex_lock(&q_lock);
  queue_taken(from, to, count, t, 1); /* (when it was empty, an enqueue may have started it again meanwhile) */
  atomic_fetch_sub_explicit(&q_unsent, t.sent + t.dropped, memory_order_relaxed);
  pthread_mutex_unlock(&q_lock);
  if (conn_fd < 0) return;
  flush_failures(send_item);
  drops = total_dropped();
  if (drops != reported_dropped && conn_fd >= 0) {
    struct sb b = {0};
    sb_printf(&b, "{\"type\":\"drops\",\"dropped\":%lu}", drops);
    if (send_item(json_item(&b))) reported_dropped = drops;
  }
  if (final && conn_fd >= 0) {
    struct sb b = {0};
    sb_printf(&b, "{\"type\":\"exit\",\"ts\":%.6f}", now_s());
    send_item(json_item(&b));
  }
}

/* CLOCK_MONOTONIC (q_cond's clock) `ms` from now. */
static struct timespec deadline_in(long ms) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += ms * 1000000L;
  until.tv_sec += until.tv_nsec / 1000000000L;
  until.tv_nsec %= 1000000000L;
  return until;
}

/* Whether `a` comes before `b`. */
static int earlier(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Whether CLOCK_MONOTONIC is past `t`. */
static int passed(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return !earlier(&now, t);
}

/* Waits on q_cond (q_lock held) for `ms`, or until an enqueue wakes it. */
static void wait_tick(long ms) {
  struct timespec until = deadline_in(ms);
  pthread_cond_timedwait(&q_cond, &q_lock, &until);
}

static void *reporter_main(void *arg) {
  (void)arg;
  /* the first round without waiting: the collector learns of the process while it starts, not at its exit */
  for (int round = 0;; round++) {
    pthread_mutex_lock(&q_lock);
    /* the shared ring full: the collector's next read (every 5 ms) makes room */
    if (round && !reporter_stopping && ring_full) wait_tick(RING_RETRY_MS);
    else if (round && !reporter_stopping && q_count < WAKE_AT && q_bytes < WAKE_BYTES) wait_tick(TICK_MS);
    int stopping = reporter_stopping;
    pthread_mutex_unlock(&q_lock);
    gate_refill();
    readers_drain(NULL);
    /* the exit (at_exit waits a second): the collector has half of it to make room in the shared ring */
    for (int i = 0; stopping && ring_full && i < 100; i++) {
      flush(0);
      if (ring_full) nanosleep(&(struct timespec){0, RING_RETRY_MS * 1000000L}, NULL);
    }
    flush(stopping);
    if (stopping) break;
  }
  if (conn_fd >= 0) {
    close(conn_fd);
    conn_fd = -1;
  }
  pthread_mutex_lock(&q_lock);
  reporter_done = 1;
  pthread_mutex_unlock(&q_lock);
  return NULL;
}

/* Wakes the reporter before its tick (a context is being terminated: its readers are to be closed). */
void wake_reporter(void) { pthread_cond_signal(&q_cond); }

void start_reporter(void) {
  pthread_mutex_lock(&q_lock);
  if (reporter_running || reporter_done) {
    pthread_mutex_unlock(&q_lock);
    return;
  }
  reporter_running = 1;
  pthread_mutex_unlock(&q_lock);
  /* the program's signals stay with the program's threads */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int r = pthread_create(&reporter, NULL, reporter_main, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) {
    pthread_mutex_lock(&q_lock);
    reporter_running = 0;
    reporter_done = 1; /* no thread, no reports: what comes is dropped (counted) */
    pthread_mutex_unlock(&q_lock);
  }
}

/* exit(): the last reports leave, within a second; never holds the exit longer */
static void at_exit(void) {
  if (getpid() != my_pid) return;
  pthread_mutex_lock(&q_lock);
  int running = reporter_running && !reporter_done;
  reporter_stopping = 1;
  pthread_mutex_unlock(&q_lock);
  if (!running) return;
  pthread_cond_signal(&q_cond);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 1;
  pthread_timedjoin_np(reporter, NULL, &until);
}

/* ---- fork -------------------------------------------------------------------- */

static void before_fork(void) {
  readers_fork_lock(1);
  pthread_mutex_lock(&reg_lock);
  failures_lock();
  pthread_mutex_lock(&q_lock);
}

static void after_fork_parent(void) {
  pthread_mutex_unlock(&q_lock);
  failures_unlock();
  pthread_mutex_unlock(&reg_lock);
  readers_fork_lock(0);
}

/* The child: one thread, a new process. The parent's queue, reporter, connection and sockets are the parent's. */
static void after_fork_child(void) {
  pthread_mutex_unlock(&q_lock);
  failures_unlock();
  pthread_mutex_unlock(&reg_lock);
  readers_fork_lock(0);
  r_head = r_tail = q_count = q_bytes = 0;
  atomic_store(&q_unsent, 0);
  atomic_store(&pump_held, 0);
  reporter_running = reporter_stopping = reporter_done = 0;
  forget_failures();
  readers_after_fork();
  if (conn_fd >= 0) close(conn_fd);
  conn_fd = -1;
  shm_after_fork();
  reconnected = 0;
  retry_at = 0;
  reported_dropped = 0;
  reset_dropped();
  gate_full();
  free_all_sockets();
  my_pid = getpid();
  started_ts = now_s();
}

static void init(void) {
  const char *addr = getenv("ZMQ_DEBUG_COLLECTOR");
  const char *tok = getenv("ZMQ_DEBUG_TOKEN");
  const char *colon = addr ? strrchr(addr, ':') : NULL;
  if (!addr || !tok || !*tok || !colon || (size_t)(colon - addr) >= sizeof collector_host || strlen(tok) >= sizeof token) {
    agent_mode = MODE_OFF;
    return;
  }
  memcpy(collector_host, addr, (size_t)(colon - addr));
  collector_host[colon - addr] = 0;
  collector_port = atoi(colon + 1);
  strcpy(token, tok);
  const char *g = getenv("ZMQ_DEBUG_AGENT_GATE");
  gate_init(g ? atol(g) : 0);
  monitor_settings();
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q_cond, &ca);
  pthread_condattr_destroy(&ca);
  my_pid = getpid();
  started_ts = now_s();
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  atexit(at_exit);
  agent_mode = MODE_ON;
}

void agent_init_once(void) { pthread_once(&init_once, init); }

EXPORT void zmq_debug_agent_stand_back(void) { atomic_store(&standing_back, 1); }

/* ---- the Python agent's sockets (sockets.c: zmq_debug_agent_adopt) ---------------- */

/*
 * Where the Python agent stands back and adopts its sockets, this library records their messages (in C: the cheap
 * part) into the ring, the Python agent's reports go in the same ring (zmq_debug_agent_put: their order kept), and
 * the Python agent's reporter sends it on its own connection: one process, one socket number, one reporter.
 */
atomic_int adopting;

EXPORT size_t zmq_debug_agent_mark(void) {
  pthread_mutex_lock(&q_lock);
  size_t at = r_head;
  pthread_mutex_unlock(&q_lock);
  return at;
}

/*
 * The Python agent's reporter thread (ctypes: the GIL released): sends the ring up to `upto` (a mark) on its
 * connection `fd`, blocking, and refills the gate. Returns the reports sent; -1 when the send failed or fd is -1
 * (no collector): what was there is counted dropped.
 */
EXPORT long zmq_debug_agent_send_queued(int fd, size_t upto) {
  if (!atomic_load(&adopting)) return 0;
  gate_refill();
  pthread_mutex_lock(&q_lock);
  size_t from = r_tail;
  if (upto > r_head) upto = r_head;
  if (upto < from) upto = from;
  pthread_mutex_unlock(&q_lock);
  size_t count = ring && ring != MAP_FAILED ? frames_upto(from, &upto) : (upto = from, 0);
  struct taken t = hand_runs(fd, from, upto, count);
  count_dropped(t.dropped);
  pthread_mutex_lock(&q_lock);
  queue_taken(from, upto, count, t, 0);
  pthread_mutex_unlock(&q_lock);
  atomic_fetch_sub_explicit(&q_unsent, t.sent + t.dropped, memory_order_relaxed);
  return t.failed ? -1 : (long)t.sent;
}

/* Reports queued, not yet handed over (the Python agent's exit gives the collector a moment to make room for them). */
EXPORT size_t zmq_debug_agent_queued(void) {
  pthread_mutex_lock(&q_lock);
  size_t n = q_count;
  pthread_mutex_unlock(&q_lock);
  return n;
}

/* 1 when the last hand-over kept reports before its mark (the shared ring full): the Python agent's own queue waits
   behind them, so that a socket's open report stays before its messages. */
EXPORT int zmq_debug_agent_ring_full(void) { return ring_full; }

/*
 * The Python agent's reporter thread, between its rounds (ctypes: the GIL released): waits `ms`, and whenever many
 * reports wait (WAKE_AT, WAKE_BYTES: at 100 MiB/s every 10 ms) sends the whole ring on `fd` from here, the Python
 * thread never woken for it, so the ring stays on memory still in the caches. Returns the reports sent, -1 when a send
 * failed (what was taken is counted dropped). fd -1 (no collector), or held (the Python agent queues messages of its
 * own: its round keeps them in order with the ring), it only waits.
 */
EXPORT long zmq_debug_agent_pump(int fd, long ms) {
  struct timespec until = deadline_in(ms);
  long sent = 0;
  int after_send = 0;
  pthread_mutex_lock(&q_lock);
  for (;;) {
    /* many wait; or a little came during a send: sent at once, so that the ring starts again at its beginning */
    int go = q_count >= WAKE_AT || q_bytes >= WAKE_BYTES || (after_send && q_bytes && q_bytes <= COMPACT_BYTES);
    after_send = 0;
    if (ring_full || !go || fd < 0 || atomic_load(&pump_held) || !atomic_load(&adopting)) {
      /* the shared ring full: the collector's next read (every 5 ms) makes room */
      struct timespec wait = until, retry = deadline_in(RING_RETRY_MS);
      if (ring_full && earlier(&retry, &until)) wait = retry;
      ring_full = 0;
      if (pthread_cond_timedwait(&q_cond, &q_lock, &wait) == ETIMEDOUT && passed(&until)) break;
      continue;
    }
    size_t from = r_tail, to = r_head, count = q_count;
    q_count = q_bytes = 0;
    pthread_mutex_unlock(&q_lock);
    struct taken t = hand_runs(fd, from, to, count);
    count_dropped(t.dropped);
    atomic_fetch_sub_explicit(&q_unsent, t.sent + t.dropped, memory_order_relaxed);
    pthread_mutex_lock(&q_lock);
    queue_taken(from, to, count, t, 1);
    if (t.failed) {
      sent = -1;
      break;
    }
    sent += (long)t.sent;
    after_send = 1;
    /* a collector slower than the program: the Python round (failures, drops, the exit) still comes every tick */
    if (passed(&until)) break;
  }
  pthread_mutex_unlock(&q_lock);
  return sent;
}

/* The Python agent records messages of a socket it could not adopt, in its own queue: from now on only its rounds
   send the ring (in order with that queue). */
EXPORT void zmq_debug_agent_hold_pump(void) { atomic_store(&pump_held, 1); }

/* A report of the Python agent's (a whole wire frame), queued in order with the messages; counted dropped when full. */
EXPORT void zmq_debug_agent_put(const unsigned char *p, size_t n) {
  if (p && n >= 5) enqueue_bytes(p, n);
}

/* Messages this library did not record (gate shut, ring full), ever in this process: the Python agent reports them. */
EXPORT unsigned long zmq_debug_agent_dropped(void) { return total_dropped(); }

EXPORT int zmq_debug_agent_watching(void) { return watching(); }

