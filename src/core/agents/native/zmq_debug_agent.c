/*
 * zmq-debug agent for every program that calls libzmq through its shared
 * library (C, C++ with cppzmq, czmq, Go's pebbe/zmq4 through cgo, Rust's zmq
 * crate, Ruby, PHP, R, Julia...): loaded with LD_PRELOAD, so the program is
 * not changed by a line and not rebuilt.
 *
 * It defines libzmq's public functions (zmq_socket, zmq_close, zmq_bind,
 * zmq_unbind, zmq_connect, zmq_disconnect, zmq_setsockopt, zmq_send,
 * zmq_send_const, zmq_recv, zmq_msg_send, zmq_msg_recv, zmq_sendmsg,
 * zmq_recvmsg, zmq_socket_monitor, zmq_proxy, zmq_proxy_steerable, zmq_ctx_term,
 * zmq_ctx_shutdown, zmq_ctx_destroy, zmq_term); the dynamic linker binds the program's calls to
 * them first, and each calls the real one (dlsym(RTLD_NEXT), or the loaded
 * libzmq when a binding dlopen()ed it privately) and reports what it did to the
 * zmq-debug collector, in the wire format of the Python and Node agents (see
 * collector.ts): process, socket open/bind/connect (with the real address of
 * tcp://x:0, from ZMQ_LAST_ENDPOINT)/unbind/disconnect/subscribe/option/close,
 * every message with all its frames, failed sends and receives by errno,
 * socket monitor events (monitor.c), what a proxy forwards (proxy.c: the agent
 * runs libzmq's proxy loop itself), exit.
 * This file holds the wrappers; agent.h lists the other files.
 *
 * Rules it keeps, so that observing changes nothing:
 * - the real function's return value and errno reach the program unchanged;
 * - no lock of the agent is held across a call into libzmq; the agent's own
 *   locks guard short list and table operations only;
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
 *   zmq_debug_agent_stand_back() and this library reports nothing there of its
 *   own; it records the messages of the sockets the Python agent adopts
 *   (zmq_debug_agent_adopt, with the Python agent's socket numbers) for the
 *   Python agent's reporter to send (reporter.c).
 *
 * Not in this file's reach: a program whose libzmq is linked statically
 * (zeromq.js, some Go builds), setuid programs (the loader ignores
 * LD_PRELOAD), pure reimplementations (JeroMQ, NetMQ).
 */
#include "agent.h"

#include <time.h>

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
EXPORT int zmq_socket_monitor(void *s, const char *addr, int events);
EXPORT int zmq_proxy(void *frontend, void *backend, void *capture);
EXPORT int zmq_proxy_steerable(void *frontend, void *backend, void *capture, void *control);
EXPORT int zmq_ctx_term(void *ctx);
EXPORT int zmq_ctx_shutdown(void *ctx);
EXPORT int zmq_ctx_destroy(void *ctx);
EXPORT int zmq_term(void *ctx);
EXPORT void zmq_debug_agent_stand_back(void);
EXPORT int zmq_debug_agent_watching(void);

/*
 * What every wrapper does first: the call of a library with its own libzmq goes to it; without a libzmq, ENOSYS;
 * a call the agent does not watch goes straight through. Past it, the call is the agent's: `depth` marks it (libzmq
 * calling its own exported functions passes through) until LEAVE returns the result. The helpers called between
 * them leave errno as libzmq set it.
 */
#define ENTER(name, fail, ...)                      \
  OWN(name, __VA_ARGS__);                           \
  if (UNLIKELY(!get_##name())) {                    \
    errno = ENOSYS;                                 \
    return fail;                                    \
  }                                                 \
  if (!watching()) return real_##name(__VA_ARGS__); \
  depth++

/* ENTER for a message call on socket `s`: also watched where the Python agent adopted the socket (sockets.c). */
#define ENTER_MESSAGE(name, fail, s, ...)                                             \
  OWN(name, __VA_ARGS__);                                                             \
  if (UNLIKELY(!get_##name())) {                                                      \
    errno = ENOSYS;                                                                   \
    return fail;                                                                      \
  }                                                                                   \
  if (!watching() && !recording_adopted(s)) return real_##name(__VA_ARGS__);          \
  depth++

#define LEAVE(expr)                  \
  do {                               \
    __typeof__(expr) result_ = (expr); \
    depth--;                         \
    return result_;                  \
  } while (0)

/* ---- sockets ----------------------------------------------------------------- */

/*
 * After zmq_socket: a new socket reported. A context out of sockets (EMFILE) where the agent has made sockets gets
 * them back: its monitors stop (no new ones in this process), and the call is tried again while libzmq's reaper
 * frees the slots of the agent's closed sockets (at most 50 ms: a program really at its limit fails as it would).
 */
static void *socket_made(void *ctx, int type, void *s) {
  for (int i = 0; !s && errno == EMFILE && i < 50 && readers_release(ctx); i++) {
    if (i) nanosleep(&(struct timespec){0, 1000000}, NULL);
    errno = EMFILE;
    s = real_zmq_socket(ctx, type);
  }
  int e = errno;
  if (s) register_socket(s, ctx, type);
  errno = e;
  return s;
}

EXPORT void *zmq_socket(void *ctx, int type) {
  OWN(zmq_socket, ctx, type);
  if (UNLIKELY(!get_zmq_socket())) {
    errno = ENOSYS;
    return NULL;
  }
  /* standing back: the socket this thread made last through here, which the Python agent may adopt */
  if (!watching()) return made_here = real_zmq_socket(ctx, type);
  depth++;
  LEAVE(socket_made(ctx, type, real_zmq_socket(ctx, type)));
}

/* zmq_close: the agent's monitor of the socket stops before libzmq closes it, then the close is reported. */
static int socket_closed(void *s) {
  int e0 = errno;
  monitor_stop(s);
  errno = e0;
  int r = real_zmq_close(s);
  int e = errno;
  struct sock *st = r == 0 ? unregister_socket(s) : NULL;
  if (st) {
    struct sb b = {0};
    sb_printf(&b, "{\"type\":\"socket\",\"op\":\"close\",\"socket\":%u,\"ts\":%.6f}", st->id, now_s());
    control(&b);
    free_socket(st);
  }
  errno = e;
  return r;
}

/* Adopting: a socket the Python agent adopted is forgotten once closed (libzmq may reuse its address). */
static int adopted_closed(void *s, int r) {
  int e = errno;
  struct sock *st = r == 0 && depth == 0 && atomic_load(&adopting) ? unregister_socket(s) : NULL;
  if (st) free_socket(st);
  errno = e;
  return r;
}

EXPORT int zmq_close(void *s) {
  OWN(zmq_close, s);
  if (UNLIKELY(!get_zmq_close())) {
    errno = ENOSYS;
    return -1;
  }
  if (!watching()) return adopted_closed(s, real_zmq_close(s));
  depth++;
  LEAVE(socket_closed(s));
}

/* After a bind, connect, unbind or disconnect that returned r (errno as it left it). */
static int endpoint_done(void *s, const char *op, const char *addr, int r) {
  int e = errno;
  struct sock *st = socket_of(s);
  if (!st) {
    errno = e;
    return r;
  }
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
  errno = e;
  return r;
}

/* Before a bind or connect: from the first, the socket's connections are events (the monitor starts before libzmq
   can make one). */
static void endpoint_starting(void *s, const char *op) {
  int e0 = errno;
  struct sock *st = op[0] == 'b' || op[0] == 'c' ? socket_of(s) : NULL;
  if (st) monitor_start(st, s);
  errno = e0;
}

#define ENDPOINT_WRAPPER(name, op)                              \
  EXPORT int name(void *s, const char *addr) {                  \
    ENTER(name, -1, s, addr);                                   \
    endpoint_starting(s, op);                                   \
    LEAVE(endpoint_done(s, op, addr, real_##name(s, addr)));    \
  }

ENDPOINT_WRAPPER(zmq_bind, "bind")
ENDPOINT_WRAPPER(zmq_connect, "connect")
ENDPOINT_WRAPPER(zmq_unbind, "unbind")
ENDPOINT_WRAPPER(zmq_disconnect, "disconnect")

/* After zmq_setsockopt returned r: subscriptions and the options the doctor reads. */
static int option_set(void *s, int option, const void *optval, size_t optvallen, int r) {
  int e = errno;
  const char *name = option_name(option);
  struct sock *st = r == 0 && (name || option == ZMQ_SUBSCRIBE || option == ZMQ_UNSUBSCRIBE) ? socket_of(s) : NULL;
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
  errno = e;
  return r;
}

EXPORT int zmq_setsockopt(void *s, int option, const void *optval, size_t optvallen) {
  ENTER(zmq_setsockopt, -1, s, option, optval, optvallen);
  LEAVE(option_set(s, option, optval, optvallen, real_zmq_setsockopt(s, option, optval, optvallen)));
}

/* The program monitors the socket itself: the agent's monitor gives way first (libzmq has one monitor a socket). */
EXPORT int zmq_socket_monitor(void *s, const char *addr, int events) {
  ENTER(zmq_socket_monitor, -1, s, addr, events);
  int e0 = errno;
  struct sock *st = socket_of(s);
  if (st) monitor_give_way(st, s);
  errno = e0;
  LEAVE(real_zmq_socket_monitor(s, addr, events));
}

/* ---- messages ------------------------------------------------------------------- */

/* After zmq_send/zmq_send_const returned r: a frame sent from the program's buffer (still the program's after the
   call: read after it), or the failure. */
static int buffer_sent(void *s, const void *buf, size_t len, int flags, int r) {
  int e = errno;
  struct sock *st = r < 0 ? NULL : socket_of(s);
  if (r < 0) {
    failed(s, OP_SEND, e);
  } else if (st) {
    int keep = frame_wanted(&st->out);
    if (keep) frame_append(&st->out, buf, len);
    frame_done(&st->out, st->id, keep, flags & ZMQ_SNDMORE, 0);
  }
  errno = e;
  return r;
}

#define BUFFER_SEND_WRAPPER(name)                                                 \
  EXPORT int name(void *s, const void *buf, size_t len, int flags) {              \
    ENTER_MESSAGE(name, -1, s, s, buf, len, flags);                               \
    LEAVE(buffer_sent(s, buf, len, flags, real_##name(s, buf, len, flags)));      \
  }

BUFFER_SEND_WRAPPER(zmq_send)
BUFFER_SEND_WRAPPER(zmq_send_const)

/* After zmq_recv returned r: the frame (r bytes long, the first len of them in the buffer), or the failure. */
static int buffer_received(void *s, void *buf, size_t len, int r) {
  int e = errno;
  struct sock *st = r < 0 ? NULL : socket_of(s);
  if (r < 0) {
    failed(s, OP_RECV, e);
  } else if (st) {
    int more = getopt_int(s, ZMQ_RCVMORE) > 0;
    int keep = frame_wanted(&st->in);
    if (keep) {
      size_t at = frame_append(&st->in, buf, (size_t)r < len ? (size_t)r : len);
      if ((size_t)r > len && st->in.it && st->in.it->size > at) put_be32(st->in.it->data + at, (uint32_t)r);
    }
    frame_done(&st->in, st->id, keep, more, 1);
  }
  errno = e;
  return r;
}

EXPORT int zmq_recv(void *s, void *buf, size_t len, int flags) {
  ENTER_MESSAGE(zmq_recv, -1, s, s, buf, len, flags);
  LEAVE(buffer_received(s, buf, len, real_zmq_recv(s, buf, len, flags)));
}

static int msg_send(zmq_msg_t *msg, void *s, int flags, int legacy) {
  int e0 = errno;
  struct sock *st = socket_of(s);
  errno = e0;
  return msg_send_on(st, msg, s, flags, legacy);
}

static int msg_received(zmq_msg_t *msg, void *s, int r) {
  int e = errno;
  struct sock *st = r < 0 ? NULL : socket_of(s);
  errno = e;
  return msg_received_on(st, msg, s, r);
}

EXPORT int zmq_msg_send(zmq_msg_t *msg, void *s, int flags) {
  ENTER_MESSAGE(zmq_msg_send, -1, s, msg, s, flags);
  LEAVE(msg_send(msg, s, flags, 0));
}

EXPORT int zmq_sendmsg(void *s, zmq_msg_t *msg, int flags) {
  ENTER_MESSAGE(zmq_sendmsg, -1, s, s, msg, flags);
  LEAVE(msg_send(msg, s, flags, 1));
}

EXPORT int zmq_msg_recv(zmq_msg_t *msg, void *s, int flags) {
  ENTER_MESSAGE(zmq_msg_recv, -1, s, msg, s, flags);
  LEAVE(msg_received(msg, s, real_zmq_msg_recv(msg, s, flags)));
}

EXPORT int zmq_recvmsg(void *s, zmq_msg_t *msg, int flags) {
  ENTER_MESSAGE(zmq_recvmsg, -1, s, s, msg, flags);
  LEAVE(msg_received(msg, s, real_zmq_recvmsg(s, msg, flags)));
}

/* ---- proxies and contexts ---------------------------------------------------- */

EXPORT int zmq_proxy(void *frontend, void *backend, void *capture) {
  ENTER(zmq_proxy, -1, frontend, backend, capture);
  LEAVE(proxy_observed(frontend, backend, capture, NULL, 0));
}

EXPORT int zmq_proxy_steerable(void *frontend, void *backend, void *capture, void *control_) {
  ENTER(zmq_proxy_steerable, -1, frontend, backend, capture, control_);
  LEAVE(proxy_observed(frontend, backend, capture, control_, 1));
}

/*
 * A context ends. When the agent has sockets in it (monitor readers), they are read a last time
 * (after the shutdown they return ETERM), libzmq shuts the context down (every blocking call in it returns ETERM, a
 * monitor's events can no longer block libzmq's I/O thread), the agent's sockets close, then the program's call runs
 * (a termination waits for every socket of the context).
 */
static int context_ending(void *ctx, int (*end)(void *)) {
  int e0 = errno;
  if (readers_in_context(ctx) && get_zmq_ctx_shutdown()) {
    readers_drain(ctx);
    if (real_zmq_ctx_shutdown(ctx) == 0) readers_close_context(ctx);
  }
  errno = e0;
  return end(ctx);
}

#define CTX_WRAPPER(name)                              \
  EXPORT int name(void *ctx) {                         \
    ENTER(name, -1, ctx);                              \
    LEAVE(context_ending(ctx, real_##name));           \
  }

CTX_WRAPPER(zmq_ctx_term)
CTX_WRAPPER(zmq_ctx_shutdown)
CTX_WRAPPER(zmq_ctx_destroy)
CTX_WRAPPER(zmq_term)
