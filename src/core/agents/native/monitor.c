/*
 * The agent's reading sockets in the program's contexts: socket monitors
 * (libzmq's zmq_socket_monitor to an inproc PAIR of the agent's, from a
 * socket's first bind or connect). The reporter
 * thread reads them every round; events become `event` reports, as the Python
 * agent sends them (connect, accept, disconnect, handshake failures, a run of
 * connect retries as two events).
 *
 * libzmq sends a monitor's events with blocking sends from its I/O thread:
 * a monitor whose reader is gone blocks that thread for good. So a reader is
 * closed only after its monitor is stopped (zmq_close: zmq_socket_monitor(s,
 * NULL, 0) first) or its context shut down (then every send in it fails with
 * ETERM). No lock is held across a call into libzmq: a reader is claimed
 * (`busy`) under the lock, used without it, and freed only when nobody holds
 * it (`refs`). The reader's pipe holds at most READER_HWM events; the
 * reporter empties it every 50 ms.
 */
#include "agent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define READER_HWM 10000
#define MAX_PER_DRAIN 4096 /* messages read from one reader in one round */
#define PEERS 64           /* connections whose peer is remembered until they end */
#define EVENT_ALL 0xFFFF
#define EVENT_CONNECT_DELAYED 2
#define EVENT_CONNECT_RETRIED 4
#define EVENT_CLOSED 128
#define EVENT_MONITOR_STOPPED 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gone = PTHREAD_COND_INITIALIZER;
static struct reader *readers;
static int monitors, budget = -1; /* monitors at once, and how many may be (-1: monitors off) */
static atomic_uint next_reader;

struct peer {
  int fd;
  char addr[64];
};

struct monitor {
  struct peer peers[PEERS];
  int n_peers;
  unsigned long retry_attempts; /* a run of connect retries: its first report went, the count goes when it ends */
  double retry_since;
  unsigned retry_interval;
  char retry_address[256];
};

void monitor_settings(void) {
  const char *on = getenv("ZMQ_DEBUG_AGENT_MONITOR");
  if (on && strcmp(on, "0") == 0) return;
  /* each monitor costs the program's context two sockets (and their file descriptors): a few dozen at most */
  struct rlimit rl;
  long soft = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : 1024;
  budget = (int)(soft / 32 < 63 ? soft / 32 : 63);
}

void readers_fork_lock(int take) {
  if (take) pthread_mutex_lock(&lock);
  else pthread_mutex_unlock(&lock);
}

/* The child of a fork: the parent's readers are in the parent's contexts (libzmq sockets do not survive a fork). */
void readers_after_fork(void) {
  while (readers) {
    struct reader *n = readers->next;
    free(readers->monitor);
    free(readers);
    readers = n;
  }
  monitors = 0;
}

/* A new agent PAIR in the context, connected to `addr` (inproc, bound later or already), or NULL. */
void *reader_socket(void *ctx, int type, const char *addr) {
  if (!get_zmq_socket() || !get_zmq_setsockopt() || !get_zmq_connect() || !get_zmq_close()) return NULL;
  void *pair = real_zmq_socket(ctx, type);
  if (!pair) return NULL;
  int hwm = READER_HWM, linger = 0;
  real_zmq_setsockopt(pair, ZMQ_RCVHWM, &hwm, sizeof hwm);
  real_zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof linger);
  if (type == ZMQ_SUB) real_zmq_setsockopt(pair, ZMQ_SUBSCRIBE, "", 0);
  if (real_zmq_connect(pair, addr) != 0) {
    real_zmq_close(pair);
    return NULL;
  }
  return pair;
}

void reader_add(struct reader *r) {
  r->id = atomic_fetch_add(&next_reader, 1) + 1;
  pthread_mutex_lock(&lock);
  r->next = readers;
  readers = r;
  pthread_mutex_unlock(&lock);
}

static void unlink_reader(struct reader *r) {
  for (struct reader **pp = &readers; *pp; pp = &(*pp)->next) {
    if (*pp == r) {
      *pp = r->next;
      break;
    }
  }
  if (r->monitor) monitors--;
}

/* ---- events --------------------------------------------------------------- */

static const char *event_name(unsigned code) {
  switch (code) {
    case 1: return "connect";
    case 2: return "connect:delay";
    case 4: return "connect:retry";
    case 8: return "bind";
    case 16: return "bind:error";
    case 32: return "accept";
    case 64: return "accept:error";
    case 128: return "close";
    case 256: return "close:error";
    case 512: return "disconnect";
    case 2048: return "handshake:error:other";
    case 4096: return "handshake";
    case 8192: return "handshake:error:protocol";
    case 16384: return "handshake:error:auth";
    default: return NULL;
  }
}

static void event_start(struct sb *b, const struct reader *r, const char *name, const char *address, size_t alen) {
  sb_printf(b, "{\"type\":\"event\",\"socket\":%u,\"event\":\"%s\",\"address\":", r->socket_id, name);
  sb_str(b, address, alen);
}

/* The other end of a TCP connection libzmq just made (read once, at the event; the fd is libzmq's). */
static int peer_of(int fd, char *out, size_t n) {
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  char host[INET6_ADDRSTRLEN];
  if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0) return 0;
  if (sa.ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&sa;
    if (!inet_ntop(AF_INET, &a->sin_addr, host, sizeof host)) return 0;
    return snprintf(out, n, "tcp://%s:%u", host, ntohs(a->sin_port)) > 0;
  }
  if (sa.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
    if (!inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host)) return 0;
    const char *v4 = strncmp(host, "::ffff:", 7) == 0 && strchr(host + 7, '.') ? host + 7 : NULL;
    return v4 ? snprintf(out, n, "tcp://%s:%u", v4, ntohs(a->sin6_port)) > 0 : snprintf(out, n, "tcp://[%s]:%u", host, ntohs(a->sin6_port)) > 0;
  }
  return 0;
}

/* connect, accept (the peer remembered by fd) and disconnect (the peer forgotten) over TCP */
static void event_peer(struct sb *b, struct monitor *m, unsigned code, int fd, const char *address) {
  char found[64] = "";
  if (code == 512) {
    for (int i = 0; i < m->n_peers; i++) {
      if (m->peers[i].fd == fd) {
        memcpy(found, m->peers[i].addr, sizeof found);
        m->peers[i] = m->peers[--m->n_peers];
        break;
      }
    }
  } else if (strncmp(address, "tcp://", 6) == 0 && peer_of(fd, found, sizeof found)) {
    if (m->n_peers == PEERS) m->peers[0] = m->peers[--m->n_peers];
    m->peers[m->n_peers].fd = fd;
    memcpy(m->peers[m->n_peers++].addr, found, sizeof found);
  }
  if (*found) {
    sb_add(b, ",\"peer\":", 8);
    sb_str(b, found, strlen(found));
  }
}

static void retries_end(struct reader *r) {
  struct monitor *m = r->monitor;
  if (m->retry_attempts > 1) {
    struct sb b = {0};
    event_start(&b, r, "connect:retried", m->retry_address, strlen(m->retry_address));
    sb_printf(&b, ",\"interval\":%u,\"attempts\":%lu,\"since\":%.6f,\"ts\":%.6f}", m->retry_interval, m->retry_attempts, m->retry_since, now_s());
    control(&b);
  }
  m->retry_attempts = 0;
}

/* One monitor event: [u16 event][u32 value] and the endpoint libzmq names. */
static void monitor_event(struct reader *r, const unsigned char *head, size_t hlen, const char *address, size_t alen) {
  struct monitor *m = r->monitor;
  if (hlen < 6) return;
  uint16_t code;
  uint32_t value;
  memcpy(&code, head, 2);
  memcpy(&value, head + 2, 4);
  const char *name = event_name(code);
  if (!name) return; /* EVENT_MONITOR_STOPPED: the agent's own monitor ends, not the program's socket */
  if (code == EVENT_CONNECT_RETRIED) {
    /* a run of retries is two reports: the first, and the count when it ends */
    if (m->retry_attempts++ == 0) {
      m->retry_since = now_s();
      m->retry_interval = value;
      size_t n = alen < sizeof m->retry_address - 1 ? alen : sizeof m->retry_address - 1;
      memcpy(m->retry_address, address, n);
      m->retry_address[n] = 0;
      struct sb b = {0};
      event_start(&b, r, name, address, alen);
      sb_printf(&b, ",\"interval\":%u,\"attempts\":1,\"ts\":%.6f}", value, m->retry_since);
      control(&b);
    }
    return;
  }
  if (m->retry_attempts) {
    /* the delay and the close of each failed attempt belong to the run of retries */
    if (code == EVENT_CONNECT_DELAYED || code == EVENT_CLOSED) return;
    retries_end(r);
  }
  struct sb b = {0};
  event_start(&b, r, name, address, alen);
  if (code == 16 || code == 64 || code == 256 || code == 2048) {
    sb_add(&b, ",\"code\":", 8);
    sb_errno(&b, (int)value);
    const char *text = get_zmq_strerror() ? real_zmq_strerror((int)value) : NULL;
    if (text) {
      sb_add(&b, ",\"error\":", 9);
      sb_str(&b, text, strlen(text));
    }
  } else if (code == 8192 || code == 16384) {
    sb_printf(&b, ",\"code\":\"%u\"", value);
  } else if (code == 1 || code == 32 || code == 512) {
    char addr[256];
    size_t n = alen < sizeof addr - 1 ? alen : sizeof addr - 1;
    memcpy(addr, address, n);
    addr[n] = 0;
    event_peer(&b, m, code, (int)value, addr);
  }
  sb_printf(&b, ",\"ts\":%.6f}", now_s());
  control(&b);
}

/* Reads what a reader has, without waiting (its owner: the reporter, or a thread that closes it). */
static void drain(struct reader *r) {
  if (!get_zmq_msg_init() || !get_zmq_msg_recv() || !get_zmq_msg_close() || !get_zmq_msg_data() || !get_zmq_msg_size() ||
      !get_zmq_msg_more())
    return;
  int e0 = errno;
  for (int i = 0; i < MAX_PER_DRAIN; i++) {
    zmq_msg_t head, addr;
    real_zmq_msg_init(&head);
    real_zmq_msg_init(&addr);
    int ok = real_zmq_msg_recv(&head, r->pair, ZMQ_DONTWAIT) >= 0;
    if (ok && real_zmq_msg_more(&head) && real_zmq_msg_recv(&addr, r->pair, ZMQ_DONTWAIT) >= 0)
      monitor_event(r, real_zmq_msg_data(&head), real_zmq_msg_size(&head), real_zmq_msg_data(&addr), real_zmq_msg_size(&addr));
    real_zmq_msg_close(&head);
    real_zmq_msg_close(&addr);
    if (!ok) break;
  }
  errno = e0;
}

/* The last of a reader: what it still has, then its socket. Its owner calls this once the reader is unlinked. */
static void finish(struct reader *r) {
  drain(r);
  if (r->monitor) retries_end(r);
  int e0 = errno;
  if (get_zmq_close()) real_zmq_close(r->pair);
  errno = e0;
  free(r->monitor);
  free(r);
  pthread_mutex_lock(&lock);
  pthread_cond_broadcast(&gone);
  pthread_mutex_unlock(&lock);
}

/* Nothing more will come to the reader (its monitor stopped, its context shut down): the
   caller, which holds a reference, lets go; the reader is finished here, or by whoever holds it last. */
void reader_stopped(struct reader *r) {
  pthread_mutex_lock(&lock);
  r->stopped = 1;
  r->refs--;
  int mine = !r->busy && r->refs == 0;
  if (mine) {
    r->busy = 1;
    unlink_reader(r);
  }
  pthread_mutex_unlock(&lock);
  if (mine) finish(r);
}

void readers_drain(void *ctx) {
  struct reader *mine[256];
  unsigned char unlinked[256];
  int n = 0;
  pthread_mutex_lock(&lock);
  for (struct reader *r = readers, *next; r && n < 256; r = next) {
    next = r->next;
    if (r->busy || (ctx && r->ctx != ctx)) continue;
    r->busy = 1;
    unlinked[n] = r->stopped && r->refs == 0;
    if (unlinked[n]) unlink_reader(r);
    mine[n++] = r;
  }
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < n; i++) {
    struct reader *r = mine[i];
    /* unlinked above: it was stopped, it is finished now. Decided under the lock, not read again here: a reader
       stopped since (its socket closing on another thread) is still linked, and is unlinked below first */
    if (unlinked[i]) {
      finish(r);
      continue;
    }
    drain(r);
    pthread_mutex_lock(&lock);
    r->busy = 0;
    int last = r->stopped && r->refs == 0;
    if (last) {
      r->busy = 1;
      unlink_reader(r);
    }
    pthread_mutex_unlock(&lock);
    if (last) finish(r);
  }
}

/* ---- monitors of the program's sockets ------------------------------------------ */

void monitor_start(struct sock *st, void *s) {
  if (!st->ctx || st->own_monitor || st->monitored || !get_zmq_socket_monitor()) return;
  pthread_mutex_lock(&lock);
  int room = budget > monitors;
  if (room) monitors++;
  pthread_mutex_unlock(&lock);
  if (!room) return;
  st->monitored = 1;
  int e0 = errno;
  char addr[96];
  snprintf(addr, sizeof addr, "inproc://zmq-debug-agent-monitor.%d.%u", (int)my_pid, st->id);
  /* the reader connects first: libzmq's first event never waits for it */
  void *pair = reader_socket(st->ctx, ZMQ_PAIR, addr);
  struct reader *r = pair ? calloc(1, sizeof *r) : NULL;
  struct monitor *m = r ? calloc(1, sizeof *m) : NULL;
  if (m && real_zmq_socket_monitor(s, addr, EVENT_ALL) == 0) {
    r->ctx = st->ctx;
    r->zsock = s;
    r->pair = pair;
    r->socket_id = st->id;
    r->monitor = m;
    reader_add(r);
  } else {
    if (pair) real_zmq_close(pair);
    free(m);
    free(r);
    pthread_mutex_lock(&lock);
    monitors--;
    pthread_mutex_unlock(&lock);
  }
  errno = e0;
}

/* The agent's active monitor of the program's socket, held (refs), or NULL. */
static struct reader *held_monitor(void *s, void *ctx) {
  pthread_mutex_lock(&lock);
  struct reader *r;
  for (r = readers; r; r = r->next) {
    if (r->monitor && !r->stopped && !r->stopping && (s ? r->zsock == s : r->ctx == ctx)) break;
  }
  if (r) {
    r->refs++;
    r->stopping = 1;
  }
  pthread_mutex_unlock(&lock);
  return r;
}

/* The reader's events are read, libzmq stops the monitor (its PAIR closes with linger 0: what the reader has not
   read by then is lost, hence the read before), then the reader goes. */
static void stop_held(struct reader *r) {
  pthread_mutex_lock(&lock);
  int claimed = !r->busy;
  r->busy = 1;
  pthread_mutex_unlock(&lock);
  if (claimed) {
    drain(r);
    pthread_mutex_lock(&lock);
    r->busy = 0;
    pthread_mutex_unlock(&lock);
  }
  int e0 = errno;
  real_zmq_socket_monitor(r->zsock, NULL, 0);
  errno = e0;
  reader_stopped(r);
}

void monitor_stop(void *s) {
  struct reader *r = monitors ? held_monitor(s, NULL) : NULL;
  if (r) stop_held(r);
}

void monitor_give_way(struct sock *st, void *s) {
  st->own_monitor = 1;
  monitor_stop(s);
}

int readers_release(void *ctx) {
  pthread_mutex_lock(&lock);
  budget = 0; /* this process is short of sockets: no more monitors */
  pthread_mutex_unlock(&lock);
  for (struct reader *r; (r = held_monitor(NULL, ctx)) != NULL;) stop_held(r);
  return atomic_load(&next_reader) > 0;
}

int readers_in_context(void *ctx) {
  pthread_mutex_lock(&lock);
  struct reader *r;
  for (r = readers; r && r->ctx != ctx; r = r->next) {
  }
  pthread_mutex_unlock(&lock);
  return r != NULL;
}

/* The context is shut down: every send in it fails now, so its readers may close whether stopped or not. */
void readers_close_context(void *ctx) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  for (;;) {
    struct reader *mine = NULL, *waiting = NULL;
    pthread_mutex_lock(&lock);
    for (struct reader *r = readers; r; r = r->next) {
      if (r->ctx != ctx) continue;
      r->stopped = 1;
      if (!r->busy && r->refs == 0) mine = r;
      else waiting = r;
    }
    if (mine) {
      mine->busy = 1;
      unlink_reader(mine);
    } else if (waiting) {
      /* held by the reporter or a closing thread for a moment: it finishes the reader itself */
      wake_reporter();
      if (pthread_cond_timedwait(&gone, &lock, &until) != 0) waiting = NULL;
    }
    pthread_mutex_unlock(&lock);
    if (mine) finish(mine);
    else if (!waiting) return;
  }
}
