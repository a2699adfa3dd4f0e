/*
 * The program's sockets as the agent knows them (a hash table by libzmq's
 * socket pointer, with a one-entry cache per thread), the messages being built
 * on each side of a socket frame by frame, and the failed sends and receives,
 * counted by socket, operation and errno.
 */
#include "agent.h"

#include <stdlib.h>

#define MAX_FAILURES 128

pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
struct sock *buckets[BUCKETS];
static atomic_uint next_socket_id;
static atomic_uint reg_gen; /* bumped when a socket leaves the table: thread caches check it */
static TLS void *cache_key;
static TLS struct sock *cache_val;
static TLS unsigned cache_gen;

static size_t bucket_of(void *p) {
  uintptr_t v = (uintptr_t)p;
  return (size_t)((v >> 4) ^ (v >> 14)) & (BUCKETS - 1);
}

void socket_open_report(struct sock *st) {
  struct sb b = {0};
  sb_printf(&b, "{\"type\":\"socket\",\"op\":\"open\",\"socket\":%u,\"socketType\":\"%s\",\"ts\":%.6f", st->id, type_name(st->type), st->ts);
  if (st->sndhwm >= 0) sb_printf(&b, ",\"sndhwm\":%d", st->sndhwm);
  if (st->rcvhwm >= 0) sb_printf(&b, ",\"rcvhwm\":%d", st->rcvhwm);
  sb_add(&b, "}", 1);
  control(&b);
}

int getopt_int(void *s, int option) {
  int v = -1;
  size_t n = sizeof v;
  if (get_zmq_getsockopt() && real_zmq_getsockopt(s, option, &v, &n) != 0) v = -1;
  return v;
}

/* A new socket of the program's (type known, or read from libzmq for one made before we looked). */
struct sock *register_socket(void *s, void *ctx, int type) {
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

struct sock *socket_of(void *s) {
  struct sock *st = find_socket(s);
  /* standing back, only the Python agent's sockets are known (adopted) */
  return st || atomic_load_explicit(&standing_back, memory_order_relaxed) ? st : register_socket(s, NULL, -1);
}

struct sock *adopted_socket(void *s) { return atomic_load_explicit(&adopting, memory_order_relaxed) ? find_socket(s) : NULL; }

/*
 * The Python agent reports the socket `s` as its socket number `id` (0: forget it); this library records its
 * messages for the Python agent's reporter (reporter.c, adopting). Returns 1 when it does: never while this
 * library's own reporter runs (the ring is then its own), nor without a collector. s NULL: only asks.
 */
TLS void *made_here;

EXPORT int zmq_debug_agent_adopt(void *s, unsigned id) {
  agent_init_once();
  if (agent_mode != MODE_ON || !atomic_load(&standing_back) || reporter_active()) return 0;
  atomic_store(&adopting, 1);
  if (!s) return 1;
  struct sock *old = unregister_socket(s);
  if (old) free_socket(old);
  /* only a socket made through this library on this thread just now: its calls pass here (not a pyzmq with a
     libzmq of its own, not a socket another library made) */
  if (!id || s != made_here) return 0;
  made_here = NULL;
  struct sock *st = calloc(1, sizeof *st);
  if (!st) return 0;
  st->zsock = s;
  st->id = id;
  st->type = -1;
  st->ts = now_s();
  size_t b = bucket_of(s);
  pthread_mutex_lock(&reg_lock);
  st->next = buckets[b];
  buckets[b] = st;
  pthread_mutex_unlock(&reg_lock);
  return 1;
}

struct sock *unregister_socket(void *s) {
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

void free_socket(struct sock *st) {
  free(st->out.it);
  free(st->in.it);
  free(st);
}

/* The child of a fork: the parent's sockets are not its own (libzmq sockets do not survive a fork). */
void free_all_sockets(void) {
  for (int i = 0; i < BUCKETS; i++) {
    while (buckets[i]) {
      struct sock *n = buckets[i]->next;
      free_socket(buckets[i]);
      buckets[i] = n;
    }
  }
  atomic_fetch_add(&reg_gen, 1);
  atomic_store(&next_socket_id, 0);
}

/* ---- messages -------------------------------------------------------------- */

TLS long gate_local;
TLS unsigned gate_shut_calls;

static inline void gate_take(long n) {
  gate_local -= n;
  if (gate_local < 0) {
    long chunk = GATE_CHUNK - gate_local;
    atomic_fetch_sub_explicit(&gate_tokens, chunk, memory_order_relaxed);
    atomic_fetch_add_explicit(&gate_taken, chunk, memory_order_relaxed);
    gate_local += chunk;
  }
}

size_t frame_append(struct frames *f, const void *data, size_t len) {
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
  if (kept && BENCH_CEILING != 1) memcpy(p + 8, data, kept);
  f->it->size += 8 + kept;
  f->count++;
  /* a token per 512 bytes more; adopting, per 4 KiB (a pyzmq program at 100,000 msg/s of 1 KiB stays below the gate) */
  gate_take((long)(len >> (atomic_load_explicit(&adopting, memory_order_relaxed) ? 12 : 9)));
  return used;
}

void frame_rollback(struct frames *f, size_t used) {
  if (f->it && f->it->size > used) {
    f->it->size = used;
    f->count--;
  }
}

void frame_done(struct frames *f, uint32_t socket_id, int kept, int more, int direction) {
  if (f->state == 0) {
    if (kept) {
      gate_take(1);
      f->state = 1;
    } else {
      count_dropped(1);
      f->state = 2;
    }
  }
  if (more) return;
  if (f->state == 1) {
    struct item *it = f->it;
    if (it && it->size > 22) {
      unsigned char *p = it->data;
      put_be32(p, (uint32_t)(it->size - 4));
      p[4] = 'M';
      p[5] = (unsigned char)direction;
      put_be32(p + 6, socket_id);
      double ts = now_s();
      uint64_t bits;
      memcpy(&bits, &ts, 8);
      put_be32(p + 10, (uint32_t)(bits >> 32));
      put_be32(p + 14, (uint32_t)bits);
      put_be32(p + 18, f->count);
      if (BENCH_CEILING == 0 || BENCH_CEILING >= 3) enqueue_bytes(it->data, it->size);
      /* the buffer serves the socket's next message; one grown past 64 KiB goes */
      it->size = 22;
      if (f->cap > MAX_FRAME + 1024) {
        free(it);
        f->it = NULL;
        f->cap = 0;
      }
    } else {
      count_dropped(1);
    }
    f->count = 0;
  }
  f->state = 0;
}

/* zmq_msg_send takes the message's content on success: what is kept is copied before (a libzmq copy of the message,
   which refuses an invalid one as the send will), and taken back if the send fails. */
int msg_send_on(struct sock *st, zmq_msg_t *msg, void *s, int flags, int legacy) {
  int e0 = errno;
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
    failed(s, OP_SEND, e);
  } else if (st) {
    frame_done(&st->out, st->id, keep, flags & ZMQ_SNDMORE, 0);
  }
  errno = e;
  return r;
}

/* After zmq_msg_recv/zmq_recvmsg returned r: the frame, or the failure. */
int msg_received_on(struct sock *st, zmq_msg_t *msg, void *s, int r) {
  int e = errno;
  if (r < 0) {
    failed(s, OP_RECV, e);
  } else if (st) {
    int more = get_zmq_msg_more() ? real_zmq_msg_more(msg) : 0;
    int keep = frame_wanted(&st->in);
    if (keep && get_zmq_msg_data() && get_zmq_msg_size()) frame_append(&st->in, real_zmq_msg_data(msg), real_zmq_msg_size(msg));
    frame_done(&st->in, st->id, keep, more, 1);
  }
  errno = e;
  return r;
}

/* ---- failures ----------------------------------------------------------------- */

struct failure {
  uint32_t socket;
  int op;
  int code;
  unsigned long count;
  double ts;
};
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct failure failures[MAX_FAILURES];
static int n_failures;

void failed(void *s, int op, int code) {
  /* adopting: the Python agent counts the failures (it knows which a green or async layer retries) */
  if (atomic_load_explicit(&standing_back, memory_order_relaxed)) return;
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
    count_dropped(1);
  }
  pthread_mutex_unlock(&fail_lock);
  if (start && !reporter_active()) start_reporter();
}

void flush_failures(int (*send_report)(struct item *)) {
  struct failure fails[MAX_FAILURES];
  pthread_mutex_lock(&fail_lock);
  int nf = n_failures;
  memcpy(fails, failures, sizeof(struct failure) * (size_t)nf);
  n_failures = 0;
  pthread_mutex_unlock(&fail_lock);
  for (int i = 0; i < nf; i++) {
    struct sb b = {0};
    sb_printf(&b, "{\"type\":\"error\",\"socket\":%u,\"op\":\"%s\",\"code\":", fails[i].socket, fails[i].op == OP_RECV ? "recv" : "send");
    sb_errno(&b, fails[i].code);
    sb_printf(&b, ",\"count\":%lu,\"ts\":%.6f}", fails[i].count, fails[i].ts);
    if (!send_report(json_item(&b))) count_dropped(1);
  }
}

/* fork: the lock around it, and the child's fresh start */
void failures_lock(void) { pthread_mutex_lock(&fail_lock); }
void failures_unlock(void) { pthread_mutex_unlock(&fail_lock); }
void forget_failures(void) { n_failures = 0; }
int failures_pending(void) { return __atomic_load_n(&n_failures, __ATOMIC_RELAXED) > 0; }
