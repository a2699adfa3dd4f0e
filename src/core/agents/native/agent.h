/*
 * What the native agent's files share (zmq_debug_agent.c says what the agent
 * is and the rules it keeps). The files, compiled into one library:
 *   zmq_debug_agent.c  the wrappers of libzmq's public functions
 *   real.c             finding the real libzmq functions behind the wrappers
 *   sockets.c          the program's sockets, their messages being built and recorded, failures
 *   reporter.c         the bounded queue, the reporter thread, start, exit, fork
 *   gate.c             the sampling gate (a token bucket) and the drop counts
 *   shmring.c          the shared-memory ring offered to the collector (ZMQ_DEBUG_AGENT_SHM=1)
 *   encoding.c         JSON reports and names (errno, socket types, options)
 *   monitor.c          socket monitor events (libzmq's zmq_socket_monitor)
 *   proxy.c            zmq_proxy and zmq_proxy_steerable: libzmq's loop, run by the agent
 */
#ifndef ZMQ_DEBUG_AGENT_H
#define ZMQ_DEBUG_AGENT_H

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* libzmq's ABI, declared here so that building needs no zmq.h (and no libzmq of the target architecture) */
typedef struct zmq_msg_t {
  unsigned char _[64];
} __attribute__((aligned(sizeof(void *)))) zmq_msg_t;
typedef struct {
  void *socket;
  int fd;
  short events, revents;
} zmq_pollitem_t;
#define ZMQ_POLLIN 1
#define ZMQ_POLLOUT 2
#define ZMQ_PAIR 0
#define ZMQ_PUB 1
#define ZMQ_SUB 2
#define ZMQ_SNDMORE 2
#define ZMQ_DONTWAIT 1
#define ZMQ_RCVMORE 13
#define ZMQ_TYPE 16
#define ZMQ_SNDHWM 23
#define ZMQ_RCVHWM 24
#define ZMQ_LAST_ENDPOINT 32
#define ZMQ_SUBSCRIBE 6
#define ZMQ_UNSUBSCRIBE 7
#define ZMQ_ROUTING_ID 5
#define ZMQ_LINGER 17
#define ZMQ_HAUSNUMERO 156384712
#define ZMQ_EMFILE_CTX EMFILE /* zmq_socket past ZMQ_MAX_SOCKETS */

/* ---- the real functions (real.c) ------------------------------------------ */

void *resolve(const char *name);
void *caller_own(void *site, const char *name);

/* first thing in every wrapper: the call of a library with its own libzmq goes to it */
#define OWN(name, ...)                                                                      \
  do {                                                                                      \
    void *own_ = caller_own(__builtin_return_address(0), #name);                            \
    if (UNLIKELY(own_ != NULL)) return ((__typeof__(&name))own_)(__VA_ARGS__);              \
  } while (0)

/* X(return type, name, argument types): every libzmq function the agent calls */
#define REAL_FUNCTIONS(X)                                          \
  X(void *, zmq_socket, (void *, int))                             \
  X(int, zmq_close, (void *))                                      \
  X(int, zmq_bind, (void *, const char *))                         \
  X(int, zmq_unbind, (void *, const char *))                       \
  X(int, zmq_connect, (void *, const char *))                      \
  X(int, zmq_disconnect, (void *, const char *))                   \
  X(int, zmq_setsockopt, (void *, int, const void *, size_t))      \
  X(int, zmq_getsockopt, (void *, int, void *, size_t *))          \
  X(int, zmq_send, (void *, const void *, size_t, int))            \
  X(int, zmq_send_const, (void *, const void *, size_t, int))      \
  X(int, zmq_recv, (void *, void *, size_t, int))                  \
  X(int, zmq_msg_send, (zmq_msg_t *, void *, int))                 \
  X(int, zmq_msg_recv, (zmq_msg_t *, void *, int))                 \
  X(int, zmq_sendmsg, (void *, zmq_msg_t *, int))                  \
  X(int, zmq_recvmsg, (void *, zmq_msg_t *, int))                  \
  X(int, zmq_proxy, (void *, void *, void *))                      \
  X(int, zmq_proxy_steerable, (void *, void *, void *, void *))    \
  X(int, zmq_socket_monitor, (void *, const char *, int))          \
  X(int, zmq_ctx_term, (void *))                                   \
  X(int, zmq_ctx_shutdown, (void *))                               \
  X(int, zmq_ctx_destroy, (void *))                                \
  X(int, zmq_term, (void *))                                       \
  X(int, zmq_msg_init, (zmq_msg_t *))                              \
  X(int, zmq_msg_init_size, (zmq_msg_t *, size_t))                 \
  X(int, zmq_poll, (zmq_pollitem_t *, int, long))                  \
  X(int, zmq_msg_copy, (zmq_msg_t *, zmq_msg_t *))                 \
  X(int, zmq_msg_close, (zmq_msg_t *))                             \
  X(void *, zmq_msg_data, (zmq_msg_t *))                           \
  X(size_t, zmq_msg_size, (const zmq_msg_t *))                     \
  X(int, zmq_msg_more, (const zmq_msg_t *))                        \
  X(const char *, zmq_strerror, (int))                             \
  X(void, zmq_version, (int *, int *, int *))

/* real_<name>: the function (once get_<name>() returned it non-NULL); get_<name>(): resolved on first use */
#define DECLARE_REAL(ret, name, args)                                              \
  extern ret(*real_##name) args;                                                   \
  static inline ret(*get_##name(void)) args {                                      \
    ret(*f) args = __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE);                \
    if (UNLIKELY(!f)) {                                                            \
      f = (ret(*) args)resolve(#name);                                             \
      __atomic_store_n(&real_##name, f, __ATOMIC_RELEASE);                         \
    }                                                                              \
    return f;                                                                      \
  }
REAL_FUNCTIONS(DECLARE_REAL)

/* ---- settings and state (reporter.c) --------------------------------------- */

#define TICK_MS 50
#define MAX_FRAME 65536               /* bytes kept of each frame; the original length is reported */
#define MAX_QUEUE (1 << 20)           /* reports waiting for the collector (the bytes bound comes first for most) */
#define MAX_QUEUE_BYTES (32u << 20)
#define MAX_MESSAGE_BYTES (16u << 20) /* bytes kept of one message; later frames keep only their length */
#define WAKE_AT 4096                  /* queued reports that wake the reporter before its tick */
#define WAKE_BYTES (1u << 20)         /* ... or queued bytes */
#define HOT_BYTES (1u << 20)          /* past this the ring starts again at its beginning once the reporter sent it ... */
#define COMPACT_BYTES (64u << 10)     /* ... with at most this left, moved there */

/*
 * Bench only (bench/agentOverhead.ts builds these, never the shipped library): how much of a message's recording is
 * done, to measure what each part costs the program. 0 (the default): all of it. 1: the wrappers and the gate only,
 * nothing copied; 2: the message copied into its socket's buffer, not handed over; 3: handed over to the queue, which
 * the reporter then discards instead of writing it to the collector; 4: as 3, the reporter reading each cache line
 * of it first (the least any hand-over to another core costs).
 */
#ifndef BENCH_CEILING
#define BENCH_CEILING 0
#endif

extern atomic_long gate_tokens;
extern atomic_size_t q_unsent; /* reports in the queue not yet sent (reporter.c); the gate keeps within it */
void gate_init(long per_tick);
void gate_full(void);
extern atomic_long gate_taken; /* tokens taken from the bucket, ever (the program's rate: reporter.c, gate_refill) */
extern pid_t my_pid;
/* nesting on this thread: libzmq's own calls to its exported functions (zmq_sendmsg → zmq_msg_send) pass through */
extern TLS int depth;


enum { MODE_UNKNOWN = 0, MODE_ON = 1, MODE_OFF = 2 };
extern int agent_mode;
extern atomic_int standing_back; /* the Python agent reports this process */
extern atomic_int adopting;      /* ... and this library records the messages of its sockets (zmq_debug_agent_adopt) */
void agent_init_once(void);

/* Whether this call is reported: a collector was given, the Python agent does not report this process, and this is
   not libzmq calling its own exported functions. */
static inline int watching(void) {
  if (UNLIKELY(agent_mode == MODE_UNKNOWN)) agent_init_once();
  return agent_mode == MODE_ON && depth == 0 && !atomic_load_explicit(&standing_back, memory_order_relaxed);
}
double now_s(void);
void start_reporter(void);
void wake_reporter(void);
int reporter_active(void);

/*
 * Reports dropped (gate shut, queue full, no collector): a running total per thread, in slots of their own cache
 * line (threads beyond DROP_SLOTS share them), summed by the reporter; a thread counting its drops never touches a
 * line another thread writes.
 */
#define DROP_SLOTS 256
struct drop_slot {
  atomic_ulong n;
  char pad[64 - sizeof(atomic_ulong)];
};
extern struct drop_slot drop_slots[DROP_SLOTS];
extern TLS struct drop_slot *my_drops;
struct drop_slot *claim_drop_slot(void);
unsigned long total_dropped(void);
void reset_dropped(void);

static inline void count_dropped(unsigned long n) {
  struct drop_slot *s = my_drops;
  if (UNLIKELY(!s)) s = my_drops = claim_drop_slot();
  atomic_fetch_add_explicit(&s->n, n, memory_order_relaxed);
}

/* ---- the queue of reports (reporter.c) ------------------------------------- */

struct item {
  struct item *next;
  size_t size; /* bytes of data: a whole wire frame, [u32 BE length][body] */
  unsigned char data[];
};

/* Queues a report (copied), or counts it dropped when the queue is full. */
void enqueue_bytes(const unsigned char *p, size_t n);
/* Queues an item and frees it. */
void enqueue(struct item *it);

static inline void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* A run of bytes to send (a part of the queue's ring). */
struct run {
  const unsigned char *p;
  size_t n;
};

/* ---- the shared-memory hand-over (shmring.c) -------------------------------- */

/* All of p on the blocking socket fd (reporter.c); 0 when it failed. */
int send_fd(int fd, const unsigned char *p, size_t n);

/* A new connection's ring, offered in the hello: its descriptor, or -1 (none: frames on the socket). */
int shm_offer(void);
const char *shm_offer_nonce(void);
size_t shm_bytes(void);
/* Frames go in the ring (the collector attached it and the `ring` report went). */
int shm_on(void);
int shm_attached(void);
void shm_switch_on(void);
/* Sends the `ring` report on fd once the collector attached the ring; 0 when the send failed. */
int shm_switch(int fd);
/* Bytes the ring can take now (0: not on). */
size_t shm_room(void);
/* Whole frames into the ring, all or nothing: 1 written, 0 full or not on. */
int shm_put_runs(const struct run *r, int k);
/* The ring is on and the collector closed its connection. */
int shm_peer_gone(int fd);
void shm_after_fork(void);

/* ---- JSON (encoding.c) ----------------------------------------------------- */

struct sb {
  char *p;
  size_t len, cap;
  int failed;
};

void sb_add(struct sb *b, const char *s, size_t n);
void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_str(struct sb *b, const char *s, size_t n);
void sb_b64(struct sb *b, const unsigned char *s, size_t n);
void sb_errno(struct sb *b, int e);
const char *errno_name(int e); /* EAGAIN, EFSM, ...; NULL for one without a name here */
/* A JSON object as a wire frame ('J' + JSON), or NULL. Frees the builder. */
struct item *json_item(struct sb *b);
/* Queues a JSON report (a builder that failed is counted dropped). */
void control(struct sb *b);
const char *type_name(int t);
const char *option_name(int o);

/* ---- sockets and messages (sockets.c) -------------------------------------- */

struct frames {
  struct item *it; /* being built: data = [u32 len]['M'][dir][u32 socket][f64 ts][u32 count] then the frames */
  size_t cap;
  uint32_t count;
  int state;       /* 0 between messages, 1 recording one, 2 letting one pass unseen */
};

struct sock {
  struct sock *next;
  void *zsock;
  void *ctx;
  uint32_t id;
  int type;
  int sndhwm, rcvhwm;
  int own_monitor; /* the program monitors this socket itself: the agent never does */
  int monitored;   /* the agent's monitor was started (once per socket) */
  double ts;
  struct frames out, in;
};

#define BUCKETS 1024
extern pthread_mutex_t reg_lock;
extern struct sock *buckets[BUCKETS];

struct sock *register_socket(void *s, void *ctx, int type);
/* The program's socket as the agent knows it (registered now when it was made before the agent looked), or NULL. */
struct sock *socket_of(void *s);
/* standing back: the socket this thread made last through zmq_socket (zmq_debug_agent_adopt checks it) */
extern TLS void *made_here;
/* Adopting: the Python agent's socket as this library records its messages, or NULL (not one of its sockets). */
struct sock *adopted_socket(void *s);
/* Adopting: a message call on one of the Python agent's sockets, not libzmq calling itself. */
static inline int recording_adopted(void *s) {
  return UNLIKELY(atomic_load_explicit(&adopting, memory_order_relaxed)) && depth == 0 && agent_mode == MODE_ON && adopted_socket(s);
}
/* Takes the socket out of the table; the caller frees it with free_socket. */
struct sock *unregister_socket(void *s);
void free_socket(struct sock *st);
void free_all_sockets(void);
int getopt_int(void *s, int option);
void socket_open_report(struct sock *st);

/* The gate's tokens this thread took from the bucket, GATE_CHUNK at a time (one shared write per chunk, not per
   message): at most GATE_CHUNK a thread beyond the bucket. */
#define GATE_CHUNK 64
extern TLS long gate_local;
extern TLS unsigned gate_shut_calls;
void gate_refill(void);
static inline int gate_open(void) {
  if (gate_local > 0 || atomic_load_explicit(&gate_tokens, memory_order_relaxed) > 0) return 1;
  /* shut: every 16th call on this thread looks at the clock for a refill (a shut gate stays the cheapest path) */
  if ((++gate_shut_calls & 15) != 0) return 0;
  gate_refill();
  return atomic_load_explicit(&gate_tokens, memory_order_relaxed) > 0;
}
/* Whether the next frame on this side of a socket is to be kept (nothing changes yet). */
static inline int frame_wanted(struct frames *f) { return f->state == 1 || (f->state == 0 && gate_open()); }
/* Appends one frame to the message being built; returns the length before, to roll back a send that failed. */
size_t frame_append(struct frames *f, const void *data, size_t len);
void frame_rollback(struct frames *f, size_t used);
/* The frame went (or arrived): moves the message on, and queues it when this was its last frame. */
void frame_done(struct frames *f, uint32_t socket_id, int kept, int more, int direction);

enum { OP_SEND = 0, OP_RECV = 1 };
/* A failed send or receive, counted; the counts leave with the reporter's next round. */
void failed(void *s, int op, int code);
/* The failures counted since the last call, as JSON reports on `send_report` (reporter thread). */
void flush_failures(int (*send_report)(struct item *));
void forget_failures(void);
int failures_pending(void);
void failures_lock(void);
void failures_unlock(void);

/* ---- monitors (monitor.c) and proxies (proxy.c) ------------------------------ */

/* One of the agent's reading sockets in a program's context: a monitor's PAIR. */
struct reader {
  struct reader *next;
  unsigned id;
  void *ctx;              /* the program's context it lives in */
  void *zsock;            /* the program's socket it monitors */
  void *pair;             /* the agent's socket */
  uint32_t socket_id;     /* the monitored socket's number */
  struct monitor *monitor;
  int busy;               /* in a thread's hands (reading, or finishing it): nobody else touches its socket */
  int refs;               /* threads that will call reader_stopped */
  int stopped;            /* nothing more will come: finished by whoever lets go of it last */
  int stopping;           /* a thread is stopping its monitor */
};

void *reader_socket(void *ctx, int type, const char *addr);
/* A new reader; the caller holds it (refs 1 set by the caller) until reader_stopped. */
void reader_add(struct reader *r);
void reader_stopped(struct reader *r);
int readers_in_context(void *ctx);

/* A bind or connect of the program's socket succeeded: its monitor events are reported from now on. */
void monitor_start(struct sock *st, void *s);
/* Before libzmq closes the program's socket: the agent's monitor of it stops first. */
void monitor_stop(void *s);
/* The program monitors the socket itself (zmq_socket_monitor): the agent's monitor gives way, for good. */
void monitor_give_way(struct sock *st, void *s);
/* After libzmq shut the context down: the agent's sockets in it (monitor readers) close. */
void readers_close_context(void *ctx);
/* zmq_socket failed with EMFILE: the agent's monitors in that context stop, no new ones start; 1 when the agent has
   made sockets (their slots come back as libzmq reaps them: worth trying again). */
int readers_release(void *ctx);
/* Reads what the monitors have (all of them: the reporter; a context's: before it ends). */
void readers_drain(void *ctx);
void readers_after_fork(void);
void readers_fork_lock(int lock);
/* ZMQ_DEBUG_AGENT_MONITOR=0: no monitors; the budget of monitors at once from the file descriptor limit */
void monitor_settings(void);

/* zmq_proxy (control_ NULL) and zmq_proxy_steerable, their traffic reported */
int proxy_observed(void *frontend, void *backend, void *capture, void *control_, int steerable);

/* ---- a send or receive recorded (sockets.c): the wrappers' and the proxy loop's ---- */

/* zmq_msg_send (zmq_sendmsg when legacy) on s, reported as the program's own send by st (its socket_of, looked up once
   by a caller that sends on it again and again; NULL: not reported) */
int msg_send_on(struct sock *st, zmq_msg_t *msg, void *s, int flags, int legacy);
/* After zmq_msg_recv/zmq_recvmsg on s returned r: reported as the program's own receive by st; returns r, errno kept */
int msg_received_on(struct sock *st, zmq_msg_t *msg, void *s, int r);

#endif
