/*
 * zmq-debug agent for every program that calls libzmq through its shared
 * library (C, C++ with cppzmq, czmq, Go's pebbe/zmq4 through cgo, Rust's zmq
 * crate, Ruby, PHP, R, Julia...): loaded with LD_PRELOAD, so the program is
 * not changed by a line and not rebuilt.
 *
 * It defines libzmq's public functions (zmq_socket, zmq_close, zmq_bind,
 * zmq_unbind, zmq_connect, zmq_disconnect, zmq_setsockopt, zmq_send,
 * zmq_send_const, zmq_recv, zmq_msg_send, zmq_msg_recv, zmq_sendmsg,
 * zmq_recvmsg, zmq_proxy, zmq_proxy_steerable, zmq_ctx_term, zmq_ctx_shutdown,
 * zmq_ctx_destroy, zmq_term); the dynamic linker binds the program's calls to
 * them first, and each calls the real one (dlsym(RTLD_NEXT), or the loaded
 * libzmq when a binding dlopen()ed it privately) and reports what it did to the
 * zmq-debug collector, in the wire format of the Python and Node agents (see
 * collector.ts): process, socket open/bind/connect (with the real address of
 * tcp://x:0, from ZMQ_LAST_ENDPOINT)/unbind/disconnect/subscribe/option/close,
 * every message with all its frames, failed sends and receives by errno, exit.
 *
 * Rules it keeps, so that observing changes nothing:
 * - the real function's return value and errno reach the program unchanged;
 * - no lock of the agent is held across a call into libzmq on a program's
 *   socket; the agent's own locks guard short list and table operations only;
 * - reports leave on a background thread (its signals blocked, so every signal
 *   still goes to the program's threads) through a bounded queue: a full
 *   queue drops reports and counts them (reported as `drops`), never blocks;
 * - nothing at all happens unless ZMQ_DEBUG_COLLECTOR and ZMQ_DEBUG_TOKEN are
 *   set; no collector listening means no reports and no output;
 * - the gate of the other agents: a token bucket of messages looked at,
 *   ZMQ_DEBUG_AGENT_GATE more every 50 ms (default 12,500: 250,000 messages a
 *   second), up to 4 ticks saved while the program is quiet, each 512 bytes of
 *   a message counting one more; with the gate shut, send and recv only count
 *   the messages they let pass (dropped), the cheapest a wrapper can be;
 * - fork: pthread_atfork takes the agent's locks around fork(); the child
 *   starts afresh (no reporter thread, no queue, no sockets: libzmq sockets do
 *   not survive a fork) and reports as a process of its own;
 * - one reporter per process: the Python agent, when it loads in a process
 *   where this library is preloaded (pyzmq on a shared libzmq), calls
 *   zmq_debug_agent_stand_back() and this library reports nothing there.
 *
 * Not in this file's reach: a program whose libzmq is linked statically
 * (zeromq.js, some Go builds), setuid programs (the loader ignores
 * LD_PRELOAD), pure reimplementations (JeroMQ, NetMQ).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* libzmq's ABI, declared here so that building needs no zmq.h (and no libzmq of the target architecture) */
typedef struct zmq_msg_t {
  unsigned char _[64];
} __attribute__((aligned(sizeof(void *)))) zmq_msg_t;
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

EXPORT void *zmq_socket(void *ctx, int type);
EXPORT int zmq_close(void *s);
EXPORT int zmq_bind(void *s, const char *addr);
EXPORT int zmq_unbind(void *s, const char *addr);
EXPORT int zmq_connect(void *s, const char *addr);
EXPORT int zmq_disconnect(void *s, const char *addr);
EXPORT int zmq_setsockopt(void *s, int option, const void *optval, size_t optvallen);
EXPORT int zmq_send(void *s, const void *buf, size_t len, int flags);
EXPORT int zmq_send_const(void *s, const void *buf, size_t len, int flags);
EXPORT int zmq_recv(void *s, void *buf, size_t len, int flags);
EXPORT int zmq_msg_send(zmq_msg_t *msg, void *s, int flags);
EXPORT int zmq_msg_recv(zmq_msg_t *msg, void *s, int flags);
EXPORT int zmq_sendmsg(void *s, zmq_msg_t *msg, int flags);
EXPORT int zmq_recvmsg(void *s, zmq_msg_t *msg, int flags);
EXPORT int zmq_proxy(void *frontend, void *backend, void *capture);
EXPORT int zmq_proxy_steerable(void *frontend, void *backend, void *capture, void *control);
EXPORT int zmq_ctx_term(void *ctx);
EXPORT int zmq_ctx_shutdown(void *ctx);
EXPORT int zmq_ctx_destroy(void *ctx);
EXPORT int zmq_term(void *ctx);
EXPORT void zmq_debug_agent_stand_back(void);
EXPORT int zmq_debug_agent_watching(void);

/* ---- the real functions -------------------------------------------------- */

static int lib_callback(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  if (info->dlpi_name && strstr(info->dlpi_name, "libzmq") && !strstr(info->dlpi_name, "zmq-debug-agent")) {
    void *h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
    if (h && dlsym(h, "zmq_ctx_new")) {
      *(void **)data = h;
      return 1;
    }
  }
  return 0;
}

/* The next definition after ours; a binding that dlopen()ed libzmq privately (pyzmq's extension modules, FFI
   bindings) keeps it out of the global scope RTLD_NEXT searches: then the libzmq that is loaded. */
static void *resolve(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (f) return f;
  void *h = dlopen("libzmq.so.5", RTLD_LAZY | RTLD_NOLOAD);
  if (!h) dl_iterate_phdr(lib_callback, &h);
  return h ? dlsym(h, name) : NULL;
}

/*
 * A library with a copy of libzmq of its own that exports its functions (zeromq.js's addon.node links libzmq
 * statically) calls them through its PLT, and the loader binds those calls to ours, which come first. Such calls
 * go straight to that library's own definition, unreported (zeromq.js has the Node agent). The verdict is kept per
 * call site: a table of return addresses, written once per slot (address, then function), never rewritten.
 */
#define SITES 4096
static struct {
  void *_Atomic site;
  void *fn; /* the caller's own definition, or NULL: the caller uses the shared libzmq */
} sites[SITES];

static void *own_definition(void *site, const char *name) {
  Dl_info caller, found, self;
  if (!dladdr(site, &caller) || !caller.dli_fname || !*caller.dli_fname) return NULL;
  /* libzmq's zmq_ctx_destroy is a tail call of zmq_ctx_term: the return address is then in the wrapper that called it */
  if (dladdr((void *)own_definition, &self) && self.dli_fbase == caller.dli_fbase) return NULL;
  void *h = dlopen(caller.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (!h) return NULL;
  void *f = dlsym(h, name);
  dlclose(h);
  return f && dladdr(f, &found) && found.dli_fbase == caller.dli_fbase ? f : NULL;
}

static void *caller_own(void *site, const char *name) {
  size_t i = ((uintptr_t)site >> 2) & (SITES - 1);
  for (int probe = 0; probe < 8; probe++, i = (i + 1) & (SITES - 1)) {
    void *at = atomic_load_explicit(&sites[i].site, memory_order_acquire);
    if (at == site) return sites[i].fn;
    if (at == NULL) {
      void *fn = own_definition(site, name);
      sites[i].fn = fn;
      void *expected = NULL;
      /* another thread may have taken the slot meanwhile: the verdict is the same either way */
      if (!atomic_compare_exchange_strong_explicit(&sites[i].site, &expected, site, memory_order_release, memory_order_relaxed) &&
          expected == site)
        return sites[i].fn;
      return fn;
    }
  }
  return own_definition(site, name);
}

/* first thing in every wrapper: the call of a library with its own libzmq goes to it */
#define OWN(name, ...)                                                                      \
  do {                                                                                      \
    void *own_ = caller_own(__builtin_return_address(0), #name);                            \
    if (UNLIKELY(own_ != NULL)) return ((__typeof__(&name))own_)(__VA_ARGS__);              \
  } while (0)

#define REAL(ret, name, args)                                                      \
  static ret(*real_##name) args;                                                   \
  static inline ret(*get_##name(void)) args {                                      \
    ret(*f) args = __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE);                \
    if (UNLIKELY(!f)) {                                                            \
      f = (ret(*) args)resolve(#name);                                             \
      __atomic_store_n(&real_##name, f, __ATOMIC_RELEASE);                         \
    }                                                                              \
    return f;                                                                      \
  }

REAL(void *, zmq_socket, (void *, int))
REAL(int, zmq_close, (void *))
REAL(int, zmq_bind, (void *, const char *))
REAL(int, zmq_unbind, (void *, const char *))
REAL(int, zmq_connect, (void *, const char *))
REAL(int, zmq_disconnect, (void *, const char *))
REAL(int, zmq_setsockopt, (void *, int, const void *, size_t))
REAL(int, zmq_getsockopt, (void *, int, void *, size_t *))
REAL(int, zmq_send, (void *, const void *, size_t, int))
REAL(int, zmq_send_const, (void *, const void *, size_t, int))
REAL(int, zmq_recv, (void *, void *, size_t, int))
REAL(int, zmq_msg_send, (zmq_msg_t *, void *, int))
REAL(int, zmq_msg_recv, (zmq_msg_t *, void *, int))
REAL(int, zmq_sendmsg, (void *, zmq_msg_t *, int))
REAL(int, zmq_recvmsg, (void *, zmq_msg_t *, int))
REAL(int, zmq_proxy, (void *, void *, void *))
REAL(int, zmq_proxy_steerable, (void *, void *, void *, void *))
REAL(int, zmq_ctx_term, (void *))
REAL(int, zmq_ctx_shutdown, (void *))
REAL(int, zmq_ctx_destroy, (void *))
REAL(int, zmq_term, (void *))
REAL(int, zmq_msg_init, (zmq_msg_t *))
REAL(int, zmq_msg_copy, (zmq_msg_t *, zmq_msg_t *))
REAL(int, zmq_msg_close, (zmq_msg_t *))
REAL(void *, zmq_msg_data, (zmq_msg_t *))
REAL(size_t, zmq_msg_size, (const zmq_msg_t *))
REAL(int, zmq_msg_more, (const zmq_msg_t *))
REAL(const char *, zmq_strerror, (int))
REAL(void, zmq_version, (int *, int *, int *))

#define CALL_OR_FAIL(name, fail)             \
  do {                                       \
    if (UNLIKELY(!get_##name())) {           \
      errno = ENOSYS;                        \
      return fail;                           \
    }                                        \
  } while (0)

/* ---- settings and state -------------------------------------------------- */

#define TICK_MS 50
#define MAX_FRAME 65536               /* bytes kept of each frame; the original length is reported */
#define MAX_QUEUE 65536               /* reports waiting for the collector */
#define MAX_QUEUE_BYTES (32u << 20)
#define MAX_MESSAGE_BYTES (16u << 20) /* bytes kept of one message; later frames keep only their length */
#define WAKE_AT 4096                  /* queued reports that wake the reporter before its tick */
#define MAX_FAILURES 128

enum { MODE_UNKNOWN = 0, MODE_ON = 1, MODE_OFF = 2 };
static int mode;                 /* set once by init() */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static atomic_int standing_back; /* the Python agent reports this process */
static char collector_host[64];
static int collector_port;
static char token[128];
static long gate_per_tick = 12500;
static long gate_burst = 50000;
static atomic_long gate_tokens;
static atomic_ulong dropped;     /* reports dropped: gate shut, queue full, no collector */
static atomic_uint next_socket_id;
static pid_t my_pid;
static double started_ts;

/* nesting on this thread: libzmq's own calls to its exported functions (zmq_sendmsg → zmq_msg_send) pass through */
static TLS int depth;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- reports queue --------------------------------------------------------- */

struct item {
  struct item *next;
  size_t size; /* bytes of data: a whole wire frame, [u32 BE length][body] */
  unsigned char data[];
};

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond;
static struct item *q_head, *q_tail;
static size_t q_count, q_bytes;
static int reporter_running, reporter_stopping, reporter_done;
static pthread_t reporter;

static void start_reporter(void);

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* Queues an item (or frees it and counts it dropped when the queue is full); the queue owns it after. */
static void enqueue(struct item *it) {
  int wake = 0;
  pthread_mutex_lock(&q_lock);
  if (q_count >= MAX_QUEUE || q_bytes + it->size > MAX_QUEUE_BYTES || reporter_done) {
    pthread_mutex_unlock(&q_lock);
    free(it);
    atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
    return;
  }
  it->next = NULL;
  if (q_tail) q_tail->next = it;
  else q_head = it;
  q_tail = it;
  q_count++;
  q_bytes += it->size;
  if (q_count == WAKE_AT) wake = 1;
  int running = reporter_running;
  pthread_mutex_unlock(&q_lock);
  if (wake) pthread_cond_signal(&q_cond);
  if (!running) start_reporter();
}

/* ---- JSON reports -------------------------------------------------------- */

struct sb {
  char *p;
  size_t len, cap;
  int failed;
};

static void sb_reserve(struct sb *b, size_t more) {
  if (b->failed) return;
  if (b->len + more + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->failed = 1;
    return;
  }
  b->p = p;
  b->cap = cap;
}

static void sb_add(struct sb *b, const char *s, size_t n) {
  sb_reserve(b, n);
  if (b->failed) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void sb_printf(struct sb *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void sb_str(struct sb *b, const char *s, size_t n) {
  sb_add(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      sb_add(b, e, 2);
    } else if (c < 0x20 || c == 0x7f) {
      sb_printf(b, "\\u%04x", c);
    } else if (c < 0x80) {
      sb_add(b, (const char *)&c, 1);
    } else {
      /* bytes that are not UTF-8 become U+FFFD, as the other agents' decode('utf-8', 'replace') */
      int len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
      int ok = len && i + (size_t)len <= n;
      for (int k = 1; ok && k < len; k++) ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
      if (ok) {
        sb_add(b, s + i, (size_t)len);
        i += (size_t)len - 1;
      } else {
        sb_add(b, "\\ufffd", 6);
      }
    }
  }
  sb_add(b, "\"", 1);
}

static void sb_b64(struct sb *b, const unsigned char *s, size_t n) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  sb_add(b, "\"", 1);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
    char o[4] = {t[v >> 18 & 63], t[v >> 12 & 63], i + 1 < n ? t[v >> 6 & 63] : '=', i + 2 < n ? t[v & 63] : '='};
    sb_add(b, o, 4);
  }
  sb_add(b, "\"", 1);
}

/* A JSON object as a wire frame ('J' + JSON), or NULL. Frees the builder. */
static struct item *json_item(struct sb *b) {
  if (b->failed || !b->p) {
    free(b->p);
    return NULL;
  }
  struct item *it = malloc(sizeof(struct item) + 5 + b->len);
  if (it) {
    it->size = 5 + b->len;
    put_be32(it->data, (uint32_t)(1 + b->len));
    it->data[4] = 'J';
    memcpy(it->data + 5, b->p, b->len);
  }
  free(b->p);
  return it;
}

static void control(struct sb *b) {
  struct item *it = json_item(b);
  if (it) enqueue(it);
  else atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
}

static const char *errno_name(int e) {
  switch (e) {
    case EAGAIN: return "EAGAIN";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOTSUP: return "ENOTSUP";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ENOBUFS: return "ENOBUFS";
    case ENETDOWN: return "ENETDOWN";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EINPROGRESS: return "EINPROGRESS";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENOENT: return "ENOENT";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case ENODEV: return "ENODEV";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNRESET: return "ECONNRESET";
    case EACCES: return "EACCES";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ZMQ_HAUSNUMERO + 51: return "EFSM";
    case ZMQ_HAUSNUMERO + 52: return "ENOCOMPATPROTO";
    case ZMQ_HAUSNUMERO + 53: return "ETERM";
    case ZMQ_HAUSNUMERO + 54: return "EMTHREAD";
    default: return NULL;
  }
}

static void sb_errno(struct sb *b, int e) {
  const char *n = errno_name(e);
  if (n) sb_printf(b, "\"%s\"", n);
  else sb_printf(b, "\"%d\"", e);
}

/* ---- sockets ----------------------------------------------------------------- */

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
  double ts;
  struct frames out, in;
};

#define BUCKETS 1024
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sock *buckets[BUCKETS];
static atomic_uint reg_gen; /* bumped when a socket leaves the table: thread caches check it */
static TLS void *cache_key;
static TLS struct sock *cache_val;
static TLS unsigned cache_gen;

static size_t bucket_of(void *p) {
  uintptr_t v = (uintptr_t)p;
  return (size_t)((v >> 4) ^ (v >> 14)) & (BUCKETS - 1);
}

static const char *type_name(int t) {
  static const char *names[] = {"PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB",
                                "STREAM", "SERVER", "CLIENT", "RADIO", "DISH", "GATHER", "SCATTER", "DGRAM", "PEER", "CHANNEL"};
  return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "?";
}

static void socket_open_report(struct sock *st) {
  struct sb b = {0};
  sb_printf(&b, "{\"type\":\"socket\",\"op\":\"open\",\"socket\":%u,\"socketType\":\"%s\",\"ts\":%.6f", st->id, type_name(st->type), st->ts);
  if (st->sndhwm >= 0) sb_printf(&b, ",\"sndhwm\":%d", st->sndhwm);
  if (st->rcvhwm >= 0) sb_printf(&b, ",\"rcvhwm\":%d", st->rcvhwm);
  sb_add(&b, "}", 1);
  control(&b);
}

static int getopt_int(void *s, int option) {
  int v = -1;
  size_t n = sizeof v;
  if (get_zmq_getsockopt() && real_zmq_getsockopt(s, option, &v, &n) != 0) v = -1;
  return v;
}

/* A new socket of the program's (type known, or read from libzmq for one made before we looked). */
static struct sock *register_socket(void *s, void *ctx, int type) {
  struct sock *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->zsock = s;
  st->ctx = ctx;
  st->type = type >= 0 ? type : getopt_int(s, ZMQ_TYPE);
  st->id = atomic_fetch_add(&next_socket_id, 1) + 1;
  st->ts = now_s();
  st->sndhwm = getopt_int(s, ZMQ_SNDHWM);
  st->rcvhwm = getopt_int(s, ZMQ_RCVHWM);
  size_t b = bucket_of(s);
  pthread_mutex_lock(&reg_lock);
  st->next = buckets[b];
  buckets[b] = st;
  pthread_mutex_unlock(&reg_lock);
  socket_open_report(st);
  return st;
}

static struct sock *find_socket(void *s) {
  unsigned gen = atomic_load_explicit(&reg_gen, memory_order_acquire);
  if (cache_key == s && cache_gen == gen) return cache_val;
  struct sock *st;
  pthread_mutex_lock(&reg_lock);
  for (st = buckets[bucket_of(s)]; st && st->zsock != s; st = st->next) {
  }
  pthread_mutex_unlock(&reg_lock);
  if (st) {
    cache_key = s;
    cache_val = st;
    cache_gen = gen;
  }
  return st;
}

static struct sock *socket_of(void *s) {
  struct sock *st = find_socket(s);
  return st ? st : register_socket(s, NULL, -1);
}

static struct sock *unregister_socket(void *s) {
  struct sock **pp, *st = NULL;
  pthread_mutex_lock(&reg_lock);
  for (pp = &buckets[bucket_of(s)]; *pp; pp = &(*pp)->next) {
    if ((*pp)->zsock == s) {
      st = *pp;
      *pp = st->next;
      break;
    }
  }
  atomic_fetch_add_explicit(&reg_gen, 1, memory_order_release);
  pthread_mutex_unlock(&reg_lock);
  return st;
}

/* ---- the gate and messages ------------------------------------------------- */

static inline int gate_open(void) { return atomic_load_explicit(&gate_tokens, memory_order_relaxed) > 0; }
static inline void gate_take(long n) {
  if (n) atomic_fetch_sub_explicit(&gate_tokens, n, memory_order_relaxed);
}

/* Whether the next frame on this side of a socket is to be kept (nothing changes yet). */
static inline int frame_wanted(struct frames *f) { return f->state == 1 || (f->state == 0 && gate_open()); }

/* Appends one frame to the message being built; returns the length before, to roll back a send that failed. */
static size_t frame_append(struct frames *f, const void *data, size_t len) {
  size_t kept = len > MAX_FRAME ? MAX_FRAME : len;
  size_t used = f->it ? f->it->size : 22;
  if (used + 8 + kept > MAX_MESSAGE_BYTES + 22) kept = 0;
  if (!f->it || used + 8 + kept > f->cap) {
    size_t cap = f->cap ? f->cap : 64;
    while (cap < used + 8 + kept) cap *= 2;
    struct item *it = realloc(f->it, sizeof(struct item) + cap);
    if (!it) return used; /* the frame is left out: the message is counted dropped when it ends */
    if (!f->it) {
      it->size = 22;
      f->count = 0;
    }
    f->it = it;
    f->cap = cap;
  }
  unsigned char *p = f->it->data + f->it->size;
  put_be32(p, (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len));
  put_be32(p + 4, (uint32_t)kept);
  if (kept) memcpy(p + 8, data, kept);
  f->it->size += 8 + kept;
  f->count++;
  gate_take((long)(len >> 9));
  return used;
}

static void frame_rollback(struct frames *f, size_t used) {
  if (f->it && f->it->size > used) {
    f->it->size = used;
    f->count--;
  }
}

/* The frame went (or arrived): moves the message on, and queues it when this was its last frame. */
static void frame_done(struct frames *f, struct sock *st, int kept, int more, int direction) {
  if (f->state == 0) {
    if (kept) {
      gate_take(1);
      f->state = 1;
    } else {
      atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
      f->state = 2;
    }
  }
  if (more) return;
  if (f->state == 1) {
    struct item *it = f->it;
    f->it = NULL;
    f->cap = 0;
    if (it) {
      unsigned char *p = it->data;
      put_be32(p, (uint32_t)(it->size - 4));
      p[4] = 'M';
      p[5] = (unsigned char)direction;
      put_be32(p + 6, st->id);
      double ts = now_s();
      uint64_t bits;
      memcpy(&bits, &ts, 8);
      put_be32(p + 10, (uint32_t)(bits >> 32));
      put_be32(p + 14, (uint32_t)bits);
      put_be32(p + 18, f->count);
      enqueue(it);
    } else {
      atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
    }
    f->count = 0;
  }
  f->state = 0;
}

/* ---- failures ----------------------------------------------------------------- */

struct failure {
  uint32_t socket;
  int op; /* 0 send, 1 recv */
  int code;
  unsigned long count;
  double ts;
};
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct failure failures[MAX_FAILURES];
static int n_failures;

static void failed(void *s, int op, int code) {
  struct sock *st = socket_of(s);
  if (!st) return;
  int start = 0;
  pthread_mutex_lock(&fail_lock);
  int i;
  for (i = 0; i < n_failures; i++) {
    if (failures[i].socket == st->id && failures[i].op == op && failures[i].code == code) break;
  }
  if (i < n_failures) failures[i].count++;
  else if (n_failures < MAX_FAILURES) {
    failures[n_failures++] = (struct failure){st->id, op, code, 1, now_s()};
    start = 1;
  } else {
    atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
  }
  pthread_mutex_unlock(&fail_lock);
  if (start) {
    pthread_mutex_lock(&q_lock);
    int running = reporter_running;
    pthread_mutex_unlock(&q_lock);
    if (!running) start_reporter();
  }
}

/* ---- the reporter thread ------------------------------------------------------- */

static int conn_fd = -1;
static int reconnected;
static double retry_at;

static int send_all(const unsigned char *p, size_t n) {
  while (n) {
    ssize_t w = send(conn_fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      close(conn_fd);
      conn_fd = -1;
      retry_at = now_s() + 2;
      return 0;
    }
    p += w;
    n -= (size_t)w;
  }
  return 1;
}

static int send_item(struct item *it) {
  if (!it) return 1;
  int ok = send_all(it->data, it->size);
  free(it);
  return ok;
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
  sb_printf(&b, ",\"agent\":\"native\",\"version\":1,\"pid\":%d}", (int)getpid());
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

static void refill_gate(double elapsed_ms) {
  long add = (long)((double)gate_per_tick * elapsed_ms / TICK_MS);
  if (add < 1) add = 1;
  pthread_mutex_lock(&q_lock);
  long room = (long)MAX_QUEUE - (long)q_count;
  pthread_mutex_unlock(&q_lock);
  long cur = atomic_load(&gate_tokens), next;
  do {
    next = cur + add;
    if (next > gate_burst) next = gate_burst;
    if (next > room) next = room;
    if (next < cur) next = cur;
  } while (!atomic_compare_exchange_weak(&gate_tokens, &cur, next));
}

/* Sends what is queued, the failures and the drops; what cannot be sent is dropped (counted). */
static void flush(int final) {
  pthread_mutex_lock(&q_lock);
  struct item *list = q_head;
  size_t count = q_count;
  q_head = q_tail = NULL;
  q_count = 0;
  q_bytes = 0;
  pthread_mutex_unlock(&q_lock);
  struct failure fails[MAX_FAILURES];
  pthread_mutex_lock(&fail_lock);
  int nf = n_failures;
  memcpy(fails, failures, sizeof(struct failure) * (size_t)nf);
  n_failures = 0;
  pthread_mutex_unlock(&fail_lock);
  unsigned long drops = atomic_load(&dropped);
  if (!list && !nf && drops == reported_dropped && !final) return;
  if (!connect_collector()) {
    /* nobody listens: what is queued is lost (counted) */
    while (list) {
      struct item *n = list->next;
      free(list);
      list = n;
    }
    atomic_fetch_add(&dropped, count);
    return;
  }
  /* batched into one buffer per 256 KiB: one send for many small reports */
  static unsigned char out[256 * 1024];
  size_t used = 0;
  while (list) {
    struct item *n = list->next;
    if (conn_fd >= 0) {
      if (used + list->size > sizeof out) {
        if (used && !send_all(out, used)) atomic_fetch_add(&dropped, 1);
        used = 0;
      }
      if (list->size > sizeof out) {
        if (conn_fd >= 0) send_all(list->data, list->size);
      } else {
        memcpy(out + used, list->data, list->size);
        used += list->size;
      }
    } else {
      atomic_fetch_add(&dropped, 1);
    }
    free(list);
    list = n;
  }
  if (used && conn_fd >= 0) send_all(out, used);
  for (int i = 0; i < nf && conn_fd >= 0; i++) {
    struct sb b = {0};
    sb_printf(&b, "{\"type\":\"error\",\"socket\":%u,\"op\":\"%s\",\"code\":", fails[i].socket, fails[i].op ? "recv" : "send");
    sb_errno(&b, fails[i].code);
    sb_printf(&b, ",\"count\":%lu,\"ts\":%.6f}", fails[i].count, fails[i].ts);
    send_item(json_item(&b));
  }
  drops = atomic_load(&dropped);
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

static void *reporter_main(void *arg) {
  (void)arg;
  double last = now_s();
  /* the first round without waiting: the collector learns of the process while it starts, not at its exit */
  for (int round = 0;; round++) {
    pthread_mutex_lock(&q_lock);
    if (round && !reporter_stopping && q_count < WAKE_AT) {
      struct timespec until;
      clock_gettime(CLOCK_MONOTONIC, &until);
      until.tv_nsec += TICK_MS * 1000000L;
      if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&q_cond, &q_lock, &until);
    }
    int stopping = reporter_stopping;
    pthread_mutex_unlock(&q_lock);
    double now = now_s();
    refill_gate((now - last) * 1000);
    last = now;
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

static void start_reporter(void) {
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
  pthread_mutex_lock(&reg_lock);
  pthread_mutex_lock(&fail_lock);
  pthread_mutex_lock(&q_lock);
}

static void after_fork_parent(void) {
  pthread_mutex_unlock(&q_lock);
  pthread_mutex_unlock(&fail_lock);
  pthread_mutex_unlock(&reg_lock);
}

/* The child: one thread, a new process. The parent's queue, reporter, connection and sockets are the parent's. */
static void after_fork_child(void) {
  pthread_mutex_unlock(&q_lock);
  pthread_mutex_unlock(&fail_lock);
  pthread_mutex_unlock(&reg_lock);
  while (q_head) {
    struct item *n = q_head->next;
    free(q_head);
    q_head = n;
  }
  q_tail = NULL;
  q_count = q_bytes = 0;
  reporter_running = reporter_stopping = reporter_done = 0;
  n_failures = 0;
  if (conn_fd >= 0) close(conn_fd);
  conn_fd = -1;
  reconnected = 0;
  retry_at = 0;
  reported_dropped = 0;
  atomic_store(&dropped, 0);
  atomic_store(&gate_tokens, gate_burst);
  for (int i = 0; i < BUCKETS; i++) {
    while (buckets[i]) {
      struct sock *n = buckets[i]->next;
      free(buckets[i]->out.it);
      free(buckets[i]->in.it);
      free(buckets[i]);
      buckets[i] = n;
    }
  }
  atomic_fetch_add(&reg_gen, 1);
  atomic_store(&next_socket_id, 0);
  my_pid = getpid();
  started_ts = now_s();
}

/* ---- start ------------------------------------------------------------------- */

static void init(void) {
  const char *addr = getenv("ZMQ_DEBUG_COLLECTOR");
  const char *tok = getenv("ZMQ_DEBUG_TOKEN");
  const char *colon = addr ? strrchr(addr, ':') : NULL;
  if (!addr || !tok || !*tok || !colon || (size_t)(colon - addr) >= sizeof collector_host || strlen(tok) >= sizeof token) {
    mode = MODE_OFF;
    return;
  }
  memcpy(collector_host, addr, (size_t)(colon - addr));
  collector_host[colon - addr] = 0;
  collector_port = atoi(colon + 1);
  strcpy(token, tok);
  const char *g = getenv("ZMQ_DEBUG_AGENT_GATE");
  if (g && atol(g) > 0) {
    gate_per_tick = atol(g);
    if (gate_burst < gate_per_tick) gate_burst = gate_per_tick;
  }
  atomic_store(&gate_tokens, gate_burst);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q_cond, &ca);
  pthread_condattr_destroy(&ca);
  my_pid = getpid();
  started_ts = now_s();
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  atexit(at_exit);
  mode = MODE_ON;
}

/* Whether this call is reported: a collector was given, the Python agent does not report this process, and this is
   not libzmq calling its own exported functions. */
static inline int watching(void) {
  if (UNLIKELY(mode == MODE_UNKNOWN)) pthread_once(&init_once, init);
  return mode == MODE_ON && depth == 0 && !atomic_load_explicit(&standing_back, memory_order_relaxed);
}

EXPORT void zmq_debug_agent_stand_back(void) { atomic_store(&standing_back, 1); }

EXPORT int zmq_debug_agent_watching(void) { return watching(); }

/* ---- the wrappers -------------------------------------------------------------- */

EXPORT void *zmq_socket(void *ctx, int type) {
  OWN(zmq_socket, ctx, type);
  CALL_OR_FAIL(zmq_socket, NULL);
  if (!watching()) return real_zmq_socket(ctx, type);
  depth++;
  void *s = real_zmq_socket(ctx, type);
  int e = errno;
  if (s) register_socket(s, ctx, type);
  depth--;
  errno = e;
  return s;
}

EXPORT int zmq_close(void *s) {
  OWN(zmq_close, s);
  CALL_OR_FAIL(zmq_close, -1);
  if (!watching()) return real_zmq_close(s);
  depth++;
  int r = real_zmq_close(s);
  int e = errno;
  if (r == 0) {
    struct sock *st = unregister_socket(s);
    if (st) {
      struct sb b = {0};
      sb_printf(&b, "{\"type\":\"socket\",\"op\":\"close\",\"socket\":%u,\"ts\":%.6f}", st->id, now_s());
      control(&b);
      free(st->out.it);
      free(st->in.it);
      free(st);
    }
  }
  depth--;
  errno = e;
  return r;
}

static void endpoint_report(void *s, const char *op, const char *addr, int r, int e) {
  struct sock *st = socket_of(s);
  if (!st) return;
  struct sb b = {0};
  sb_printf(&b, "{\"type\":\"socket\",\"op\":\"%s\",\"socket\":%u,\"endpoint\":", op, st->id);
  sb_str(&b, addr ? addr : "", addr ? strlen(addr) : 0);
  if (r != 0) {
    const char *text = get_zmq_strerror() ? real_zmq_strerror(e) : NULL;
    sb_add(&b, ",\"error\":", 9);
    sb_str(&b, text ? text : "error", text ? strlen(text) : 5);
    sb_add(&b, ",\"code\":", 8);
    sb_errno(&b, e);
  } else if (op[0] == 'b' || op[0] == 'c') {
    /* the real address: port 0 → the port the system chose */
    char last[1024];
    size_t n = sizeof last;
    if (get_zmq_getsockopt() && real_zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, last, &n) == 0 && n > 0) {
      last[n < sizeof last ? n - 1 : sizeof last - 1] = 0;
      if (addr && *last && strcmp(last, addr) != 0) {
        sb_add(&b, ",\"resolved\":", 12);
        sb_str(&b, last, strlen(last));
      }
    }
  }
  sb_printf(&b, ",\"ts\":%.6f}", now_s());
  control(&b);
}

#define ENDPOINT_WRAPPER(name, op)                      \
  EXPORT int name(void *s, const char *addr) {          \
    OWN(name, s, addr);                                 \
    CALL_OR_FAIL(name, -1);                             \
    if (!watching()) return real_##name(s, addr);       \
    depth++;                                            \
    int r = real_##name(s, addr);                       \
    int e = errno;                                      \
    endpoint_report(s, op, addr, r, e);                 \
    depth--;                                            \
    errno = e;                                          \
    return r;                                           \
  }

ENDPOINT_WRAPPER(zmq_bind, "bind")
ENDPOINT_WRAPPER(zmq_connect, "connect")
ENDPOINT_WRAPPER(zmq_unbind, "unbind")
ENDPOINT_WRAPPER(zmq_disconnect, "disconnect")

static const char *option_name(int o) {
  switch (o) {
    case 23: return "sndhwm";
    case 24: return "rcvhwm";
    case 5: return "routing_id";
    case 17: return "linger";
    case 27: return "rcvtimeo";
    case 28: return "sndtimeo";
    case 33: return "router_mandatory";
    case 54: return "conflate";
    case 40: return "xpub_verbose";
    case 53: return "req_relaxed";
    case 52: return "req_correlate";
    case 39: return "immediate";
    case 51: return "probe_router";
    default: return NULL;
  }
}

EXPORT int zmq_setsockopt(void *s, int option, const void *optval, size_t optvallen) {
  OWN(zmq_setsockopt, s, option, optval, optvallen);
  CALL_OR_FAIL(zmq_setsockopt, -1);
  if (!watching()) return real_zmq_setsockopt(s, option, optval, optvallen);
  depth++;
  int r = real_zmq_setsockopt(s, option, optval, optvallen);
  int e = errno;
  const char *name = option_name(option);
  if (r == 0 && (name || option == ZMQ_SUBSCRIBE || option == ZMQ_UNSUBSCRIBE)) {
    struct sock *st = socket_of(s);
    if (st) {
      struct sb b = {0};
      if (!name) {
        sb_printf(&b, "{\"type\":\"socket\",\"op\":\"%s\",\"socket\":%u,\"topic\":", option == ZMQ_SUBSCRIBE ? "subscribe" : "unsubscribe", st->id);
        sb_b64(&b, optval, optval ? optvallen : 0);
      } else {
        sb_printf(&b, "{\"type\":\"socket\",\"op\":\"option\",\"socket\":%u,\"option\":\"%s\"", st->id, name);
        if (option == ZMQ_ROUTING_ID) {
          sb_add(&b, ",\"bytes\":", 9);
          sb_b64(&b, optval, optval ? optvallen : 0);
        } else if (optval && optvallen == sizeof(int)) {
          int v;
          memcpy(&v, optval, sizeof v);
          sb_printf(&b, ",\"value\":%d", v);
        }
      }
      sb_printf(&b, ",\"ts\":%.6f}", now_s());
      control(&b);
    }
  }
  depth--;
  errno = e;
  return r;
}

/* A frame sent from the program's buffer (still the program's after the call: read after it). */
static void sent_buffer(void *s, const void *buf, size_t len, int flags) {
  struct sock *st = socket_of(s);
  if (!st) return;
  int keep = frame_wanted(&st->out);
  if (keep) frame_append(&st->out, buf, len);
  frame_done(&st->out, st, keep, flags & ZMQ_SNDMORE, 0);
}

EXPORT int zmq_send(void *s, const void *buf, size_t len, int flags) {
  OWN(zmq_send, s, buf, len, flags);
  CALL_OR_FAIL(zmq_send, -1);
  if (!watching()) return real_zmq_send(s, buf, len, flags);
  depth++;
  int r = real_zmq_send(s, buf, len, flags);
  int e = errno;
  if (r < 0) failed(s, 0, e);
  else sent_buffer(s, buf, len, flags);
  depth--;
  errno = e;
  return r;
}

EXPORT int zmq_send_const(void *s, const void *buf, size_t len, int flags) {
  OWN(zmq_send_const, s, buf, len, flags);
  CALL_OR_FAIL(zmq_send_const, -1);
  if (!watching()) return real_zmq_send_const(s, buf, len, flags);
  depth++;
  int r = real_zmq_send_const(s, buf, len, flags);
  int e = errno;
  if (r < 0) failed(s, 0, e);
  else sent_buffer(s, buf, len, flags);
  depth--;
  errno = e;
  return r;
}

EXPORT int zmq_recv(void *s, void *buf, size_t len, int flags) {
  OWN(zmq_recv, s, buf, len, flags);
  CALL_OR_FAIL(zmq_recv, -1);
  if (!watching()) return real_zmq_recv(s, buf, len, flags);
  depth++;
  int r = real_zmq_recv(s, buf, len, flags);
  int e = errno;
  if (r < 0) failed(s, 1, e);
  else {
    struct sock *st = socket_of(s);
    if (st) {
      int more = getopt_int(s, ZMQ_RCVMORE) > 0;
      int keep = frame_wanted(&st->in);
      if (keep) {
        /* the message was r bytes, the buffer holds the first len of them */
        size_t at = frame_append(&st->in, buf, (size_t)r < len ? (size_t)r : len);
        if ((size_t)r > len && st->in.it && st->in.it->size > at) put_be32(st->in.it->data + at, (uint32_t)r);
      }
      frame_done(&st->in, st, keep, more, 1);
    }
  }
  depth--;
  errno = e;
  return r;
}

/* zmq_msg_send takes the message's content on success: what is kept is copied before (a libzmq copy of the message,
   which refuses an invalid one as the send will), and taken back if the send fails. */
static int msg_send(zmq_msg_t *msg, void *s, int flags, int legacy) {
  int e0 = errno;
  struct sock *st = socket_of(s);
  int keep = st && msg && frame_wanted(&st->out);
  size_t at = 0;
  if (keep) {
    zmq_msg_t copy;
    if (get_zmq_msg_init() && get_zmq_msg_copy() && get_zmq_msg_close() && get_zmq_msg_data() && get_zmq_msg_size() &&
        real_zmq_msg_init(&copy) == 0) {
      if (real_zmq_msg_copy(&copy, msg) == 0) at = frame_append(&st->out, real_zmq_msg_data(&copy), real_zmq_msg_size(&copy));
      else keep = 0;
      real_zmq_msg_close(&copy);
    } else {
      keep = 0;
    }
  }
  errno = e0;
  int r = legacy ? real_zmq_sendmsg(s, msg, flags) : real_zmq_msg_send(msg, s, flags);
  int e = errno;
  if (r < 0) {
    if (keep) frame_rollback(&st->out, at);
    failed(s, 0, e);
  } else if (st) {
    frame_done(&st->out, st, keep, flags & ZMQ_SNDMORE, 0);
  }
  errno = e;
  return r;
}

static void msg_received(zmq_msg_t *msg, void *s) {
  struct sock *st = socket_of(s);
  if (!st) return;
  int more = get_zmq_msg_more() ? real_zmq_msg_more(msg) : 0;
  int keep = frame_wanted(&st->in);
  if (keep && get_zmq_msg_data() && get_zmq_msg_size()) frame_append(&st->in, real_zmq_msg_data(msg), real_zmq_msg_size(msg));
  frame_done(&st->in, st, keep, more, 1);
}

/* After zmq_msg_recv/zmq_recvmsg returned r: the failure or the frame reported, errno as the call left it. */
static int msg_recv_done(zmq_msg_t *msg, void *s, int r) {
  int e = errno;
  if (r < 0) failed(s, 1, e);
  else msg_received(msg, s);
  errno = e;
  return r;
}

EXPORT int zmq_msg_send(zmq_msg_t *msg, void *s, int flags) {
  OWN(zmq_msg_send, msg, s, flags);
  CALL_OR_FAIL(zmq_msg_send, -1);
  if (!watching()) return real_zmq_msg_send(msg, s, flags);
  depth++;
  int r = msg_send(msg, s, flags, 0);
  depth--;
  return r;
}

EXPORT int zmq_sendmsg(void *s, zmq_msg_t *msg, int flags) {
  OWN(zmq_sendmsg, s, msg, flags);
  CALL_OR_FAIL(zmq_sendmsg, -1);
  if (!watching()) return real_zmq_sendmsg(s, msg, flags);
  depth++;
  int r = msg_send(msg, s, flags, 1);
  depth--;
  return r;
}

EXPORT int zmq_msg_recv(zmq_msg_t *msg, void *s, int flags) {
  OWN(zmq_msg_recv, msg, s, flags);
  CALL_OR_FAIL(zmq_msg_recv, -1);
  if (!watching()) return real_zmq_msg_recv(msg, s, flags);
  depth++;
  int r = msg_recv_done(msg, s, real_zmq_msg_recv(msg, s, flags));
  depth--;
  return r;
}

EXPORT int zmq_recvmsg(void *s, zmq_msg_t *msg, int flags) {
  OWN(zmq_recvmsg, s, msg, flags);
  CALL_OR_FAIL(zmq_recvmsg, -1);
  if (!watching()) return real_zmq_recvmsg(s, msg, flags);
  depth++;
  int r = msg_recv_done(msg, s, real_zmq_recvmsg(s, msg, flags));
  depth--;
  return r;
}

/* ---- proxies and contexts ---------------------------------------------------- */

EXPORT int zmq_proxy(void *frontend, void *backend, void *capture) {
  OWN(zmq_proxy, frontend, backend, capture);
  CALL_OR_FAIL(zmq_proxy, -1);
  if (!watching()) return real_zmq_proxy(frontend, backend, capture);
  depth++;
  int r = real_zmq_proxy(frontend, backend, capture);
  int e = errno;
  depth--;
  errno = e;
  return r;
}

EXPORT int zmq_proxy_steerable(void *frontend, void *backend, void *capture, void *control_) {
  OWN(zmq_proxy_steerable, frontend, backend, capture, control_);
  CALL_OR_FAIL(zmq_proxy_steerable, -1);
  if (!watching()) return real_zmq_proxy_steerable(frontend, backend, capture, control_);
  depth++;
  int r = real_zmq_proxy_steerable(frontend, backend, capture, control_);
  int e = errno;
  depth--;
  errno = e;
  return r;
}

#define CTX_WRAPPER(name)                         \
  EXPORT int name(void *ctx) {                    \
    OWN(name, ctx);                               \
    CALL_OR_FAIL(name, -1);                       \
    if (!watching()) return real_##name(ctx);     \
    depth++;                                      \
    int r = real_##name(ctx);                     \
    int e = errno;                                \
    depth--;                                      \
    errno = e;                                    \
    return r;                                     \
  }

CTX_WRAPPER(zmq_ctx_term)
CTX_WRAPPER(zmq_ctx_shutdown)
CTX_WRAPPER(zmq_ctx_destroy)
CTX_WRAPPER(zmq_term)
