/*
 * zmq_proxy and zmq_proxy_steerable, seen message by message. libzmq's own
 * loop moves messages inside, past every wrapper; the agent runs that loop
 * itself instead, on the program's sockets, with the real zmq_poll,
 * zmq_msg_recv, zmq_msg_send and zmq_getsockopt, and reports each frame as the
 * program's own receives and sends are reported: received by the socket it
 * came in on, sent by the one it went out of (both ways: ROUTER/DEALER,
 * XSUB/XPUB, PAIR, PULL/PUSH...), sent by the program's capture socket, and
 * on the steerable proxy's control socket the commands received and the
 * STATISTICS replies sent.
 *
 * The loop is libzmq 4.3.4's (src/proxy.cpp), step for step, so that the
 * program sees the same thing: the same waits (a blocking poll of the sockets
 * that can move a message now, then a poll of everything without waiting;
 * a socket's readiness remembered until it is used), bursts of up to 1,000
 * messages, each frame copied to the capture socket (SNDMORE as in the
 * message) before it is sent on, a control command read before any
 * forwarding, the counters (whole messages and their bytes) of STATISTICS in
 * libzmq's order, the return values and errno (-1 and ETERM when the context
 * ends, 0 after TERMINATE). An unknown command makes libzmq assert and abort:
 * the agent hands that command to libzmq's own proxy on a PAIR of its own, so
 * the program ends with libzmq's own words.
 *
 * libzmq's loop is kept (its sockets get a `device:unseen` event: the doctor
 * then says their traffic is not seen and counts no loss on them) when
 * ZMQ_DEBUG_AGENT_DEVICES=native is set (as for the Python agent: libzmq's
 * speed, its traffic unseen); on a libzmq other than 4.3; for a steerable
 * proxy with a control socket on a libzmq 4.3.5 or later (4.3.5 rewrote its
 * control: a REP gets a reply to each command, counters per frame, an unknown
 * command ignored) or whose sockets' context the agent does not know (there is
 * none for that PAIR). Without a control socket, the loop is the same in 4.3.4
 * and in libzmq's current code. Calls that libzmq refuses before any traffic (a NULL
 * socket, one that is not a socket, a control socket that is also the
 * frontend or backend) go to libzmq as they are.
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>

#define PROXY_BURST 1000 /* libzmq's proxy_burst_size */

struct counts {
  uint64_t msg_in, bytes_in, msg_out, bytes_out;
};

/* The sets a poll looks at (libzmq's socket pollers), as zmq_poll items. */
enum { P_ALL, P_IN, P_CONTROL, P_RECV_BLOCKED, P_SEND_BLOCKED, P_BOTH_BLOCKED, P_FRONT_ONLY, P_BACK_ONLY, P_SETS };

struct proxy {
  void *front, *back, *capture, *control;
  struct sock *front_st, *back_st, *capture_st, *control_st; /* looked up once: a loop alternates between sockets */
  struct counts fs, bs;
  zmq_msg_t msg;
  zmq_pollitem_t sets[P_SETS][3];
  int size[P_SETS];
};

static void add(struct proxy *p, int set, void *s, short events) {
  p->sets[set][p->size[set]++] = (zmq_pollitem_t){.socket = s, .events = events};
}

/* libzmq's pollers: frontend and backend (once when they are one socket), the control socket in each */
static void sets_build(struct proxy *p) {
  const short IO = ZMQ_POLLIN | ZMQ_POLLOUT;
  int same = p->front == p->back;
  add(p, P_ALL, p->front, IO);
  add(p, P_IN, p->front, ZMQ_POLLIN);
  add(p, P_RECV_BLOCKED, p->front, ZMQ_POLLOUT);
  if (!same) {
    add(p, P_ALL, p->back, IO);
    add(p, P_IN, p->back, ZMQ_POLLIN);
    add(p, P_BOTH_BLOCKED, p->front, ZMQ_POLLOUT);
    add(p, P_BOTH_BLOCKED, p->back, ZMQ_POLLOUT);
    add(p, P_SEND_BLOCKED, p->back, ZMQ_POLLOUT);
    add(p, P_SEND_BLOCKED, p->front, IO);
    add(p, P_RECV_BLOCKED, p->back, IO);
    add(p, P_FRONT_ONLY, p->front, IO);
    add(p, P_BACK_ONLY, p->back, IO);
  }
  if (p->control)
    for (int set = 0; set < P_SETS; set++)
      if (set <= P_RECV_BLOCKED || !same) add(p, set, p->control, ZMQ_POLLIN);
}

/* A copy of the frame just received to the capture socket, if any (libzmq's capture()). */
static int capture_copy(struct proxy *p, int more) {
  if (!p->capture) return 0;
  zmq_msg_t copy;
  if (real_zmq_msg_init(&copy) < 0) return -1;
  if (real_zmq_msg_copy(&copy, &p->msg) < 0 || msg_send_on(p->capture_st, &copy, p->capture, more ? ZMQ_SNDMORE : 0, 0) < 0) {
    int e = errno;
    real_zmq_msg_close(&copy);
    errno = e;
    return -1;
  }
  return 0;
}

/* A burst of whole messages from one socket to the other (libzmq's forward()). */
static int forward(struct proxy *p, void *from, struct sock *from_st, struct counts *fc, void *to, struct sock *to_st, struct counts *tc) {
  for (unsigned i = 0; i < PROXY_BURST; i++) {
    uint64_t bytes = 0;
    for (;;) {
      int rc = real_zmq_msg_recv(&p->msg, from, ZMQ_DONTWAIT);
      /* nothing more to read ends a burst (not a failure of the program's); the burst's first read failing ends the proxy */
      if (rc < 0 && errno == EAGAIN && i > 0) return 0;
      if (msg_received_on(from_st, &p->msg, from, rc) < 0) return -1;
      bytes += real_zmq_msg_size(&p->msg);
      int more;
      size_t n = sizeof more;
      if (real_zmq_getsockopt(from, ZMQ_RCVMORE, &more, &n) < 0) return -1;
      if (capture_copy(p, more) < 0) return -1;
      if (msg_send_on(to_st, &p->msg, to, more ? ZMQ_SNDMORE : 0, 0) < 0) return -1;
      if (!more) break;
    }
    /* a multipart message counts as one */
    fc->msg_in++;
    fc->bytes_in += bytes;
    tc->msg_out++;
    tc->bytes_out += bytes;
  }
  return 0;
}

/* STATISTICS: eight frames of 8 bytes; the first send may fail (high-water mark), the others are retried on EAGAIN. */
static int reply_counts(struct proxy *p) {
  const uint64_t v[8] = {p->fs.msg_in, p->fs.bytes_in, p->fs.msg_out, p->fs.bytes_out,
                         p->bs.msg_in, p->bs.bytes_in, p->bs.msg_out, p->bs.bytes_out};
  for (int i = 0; i < 8; i++) {
    zmq_msg_t m;
    real_zmq_msg_init_size(&m, sizeof v[i]);
    memcpy(real_zmq_msg_data(&m), &v[i], sizeof v[i]);
    int rc;
    do {
      rc = msg_send_on(p->control_st, &m, p->control, i < 7 ? ZMQ_SNDMORE : 0, 0);
    } while (i > 0 && rc < 0 && errno == EAGAIN);
    if (rc < 0) {
      int e = errno;
      real_zmq_msg_close(&m);
      errno = e;
      if (i == 0) return -1;
    }
  }
  return 0;
}

/*
 * A command libzmq does not know: libzmq prints "E: invalid command sent to proxy", asserts and aborts. Its own proxy
 * is given the command on a PAIR of the agent's (no capture: the program's capture already has its copy) and does
 * exactly that, before it forwards anything.
 */
static void unknown_command(struct proxy *p, void *ctx) {
  char addr[96];
  static atomic_uint replays;
  snprintf(addr, sizeof addr, "inproc://zmq-debug-agent-proxy.%d.%u", (int)my_pid, atomic_fetch_add(&replays, 1) + 1);
  void *in = real_zmq_socket(ctx, ZMQ_PAIR), *out = real_zmq_socket(ctx, ZMQ_PAIR);
  if (in && out && real_zmq_bind(in, addr) == 0 && real_zmq_connect(out, addr) == 0 && real_zmq_msg_send(&p->msg, out, 0) >= 0)
    real_zmq_proxy_steerable(p->front, p->back, NULL, in);
  /* not reached when libzmq aborted as it does */
  puts("E: invalid command sent to proxy");
  abort();
}

enum { ACTIVE, PAUSED, TERMINATED };

/* A command from the control socket (read before any forwarding, as libzmq does); -1 when the proxy ends failing. */
static int command(struct proxy *p, int *state, int *wait, void *ctx) {
  if (msg_received_on(p->control_st, &p->msg, p->control, real_zmq_msg_recv(&p->msg, p->control, 0)) < 0) return -1;
  int more;
  size_t n = sizeof more;
  if (real_zmq_getsockopt(p->control, ZMQ_RCVMORE, &more, &n) < 0 || more) return -1;
  if (capture_copy(p, 0) < 0) return -1;
  size_t size = real_zmq_msg_size(&p->msg);
  const char *c = real_zmq_msg_data(&p->msg);
  if (size == 5 && memcmp(c, "PAUSE", 5) == 0) {
    *state = PAUSED;
    *wait = P_CONTROL;
  } else if (size == 6 && memcmp(c, "RESUME", 6) == 0) {
    *state = ACTIVE;
    *wait = P_IN;
  } else if (size == 9 && memcmp(c, "TERMINATE", 9) == 0) {
    *state = TERMINATED;
  } else if (size == 10 && memcmp(c, "STATISTICS", 10) == 0) {
    return reply_counts(p);
  } else {
    unknown_command(p, ctx);
  }
  return 0;
}

/* What the blocking poll waits for next (libzmq's choice of poller after each round). */
static int next_wait(int wait, int request, int reply, int fin, int fout, int bin, int bout) {
  if (request || reply) {
    if (request && wait == P_BOTH_BLOCKED) wait = P_SEND_BLOCKED;
    else if (request && (wait == P_RECV_BLOCKED || wait == P_FRONT_ONLY)) wait = P_IN;
    if (reply && wait == P_BOTH_BLOCKED) wait = P_RECV_BLOCKED;
    else if (reply && (wait == P_SEND_BLOCKED || wait == P_BACK_ONLY)) wait = P_IN;
    return wait;
  }
  /* nothing moved: a side whose receiver is full is not read until it has room */
  if (fin) {
    if (fout) wait = P_BACK_ONLY;
    else if (wait == P_SEND_BLOCKED) wait = P_BOTH_BLOCKED;
    else if (wait == P_IN) wait = P_RECV_BLOCKED;
  }
  if (bin) {
    if (bout) wait = P_FRONT_ONLY;
    else if (wait == P_RECV_BLOCKED) wait = P_BOTH_BLOCKED;
    else if (wait == P_IN) wait = P_SEND_BLOCKED;
  }
  return wait;
}

/* libzmq's zmq::proxy loop; 0 after TERMINATE, -1 (errno as libzmq leaves it) when a call fails. */
static int run(struct proxy *p, void *ctx) {
  int state = ACTIVE, wait = P_IN, same = p->front == p->back;
  int fin = 0, fout = 0, bin = 0, bout = 0, cin = 0;
  while (state != TERMINATED) {
    if (real_zmq_poll(p->sets[wait], p->size[wait], -1) < 0) return -1;
    int rc = real_zmq_poll(p->sets[P_ALL], p->size[P_ALL], 0);
    if (rc < 0) return -1;
    /* a socket with no event keeps what was last seen of it */
    for (int i = 0; i < p->size[P_ALL]; i++) {
      const zmq_pollitem_t *it = &p->sets[P_ALL][i];
      if (!it->revents) continue;
      int in = (it->revents & ZMQ_POLLIN) != 0, out = (it->revents & ZMQ_POLLOUT) != 0;
      if (it->socket == p->front) fin = in, fout = out;
      else if (it->socket == p->back) bin = in, bout = out;
      else cin = in;
    }
    if (cin) {
      if (command(p, &state, &wait, ctx) < 0) return -1;
      cin = 0;
    }
    if (state != ACTIVE) continue;
    int request = fin && (bout || same), reply = bin && fout;
    if (request) {
      if (forward(p, p->front, p->front_st, &p->fs, p->back, p->back_st, &p->bs) < 0) return -1;
      fin = bout = 0;
    }
    if (reply) {
      if (forward(p, p->back, p->back_st, &p->bs, p->front, p->front_st, &p->fs) < 0) return -1;
      bin = fout = 0;
    }
    wait = next_wait(wait, request, reply, fin, fout, bin, bout);
  }
  return 0;
}

/* device:unseen on the frontend and backend: their messages move where the agent does not see them */
static void unseen(void *frontend, void *backend, const char *kind) {
  void *socks[2] = {frontend, backend};
  for (int i = 0; i < (frontend == backend ? 1 : 2); i++) {
    struct sock *st = socket_of(socks[i]);
    if (!st) continue;
    struct sb b = {0};
    sb_printf(&b, "{\"type\":\"event\",\"socket\":%u,\"event\":\"device:unseen\",\"address\":\"%s\",\"ts\":%.6f}", st->id, kind, now_s());
    control(&b);
  }
}

/* Whether the running libzmq's proxy is the one this file follows: libzmq 4.3 (its loop since 4.3.0); with a control
   socket, 4.3.0 to 4.3.4 (4.3.5 rewrote the control: a REP gets a reply to each command, counters per frame, an
   unknown command ignored). */
static int libzmq_loop_followed(int control_) {
  int major = 0, minor = 0, patch = 0;
  if (get_zmq_version()) real_zmq_version(&major, &minor, &patch);
  return major == 4 && minor == 3 && (!control_ || patch <= 4);
}

static int is_socket(void *s) { return s == NULL || getopt_int(s, ZMQ_TYPE) >= 0; }

/* What libzmq refuses before any traffic: a NULL socket, one that is not a socket, a control socket that is also the
   frontend or backend (it cannot be polled twice). */
static int refused_by_libzmq(void *frontend, void *backend, void *capture, void *control_) {
  return !frontend || !backend || !is_socket(frontend) || !is_socket(backend) || !is_socket(capture) || !is_socket(control_) ||
         (control_ && (control_ == frontend || control_ == backend));
}

/* The libzmq functions the agent's loop calls (with a control socket, those that replay an unknown command too). */
static int loop_functions_found(int control_) {
  return get_zmq_poll() && get_zmq_msg_init() && get_zmq_msg_init_size() && get_zmq_msg_copy() && get_zmq_msg_close() &&
         get_zmq_msg_data() && get_zmq_msg_size() && get_zmq_msg_more() && get_zmq_getsockopt() && get_zmq_msg_recv() &&
         get_zmq_msg_send() && (!control_ || (get_zmq_socket() && get_zmq_bind() && get_zmq_connect() && get_zmq_proxy_steerable()));
}

int proxy_observed(void *frontend, void *backend, void *capture, void *control_, int steerable) {
  int e0 = errno;
  int seen = !refused_by_libzmq(frontend, backend, capture, control_);
  struct proxy *p = seen && loop_functions_found(control_ != NULL) ? calloc(1, sizeof *p) : NULL;
  void *ctx = NULL;
  if (p) {
    p->front = frontend;
    p->back = backend;
    p->capture = capture;
    p->control = control_;
    p->front_st = socket_of(frontend);
    p->back_st = socket_of(backend);
    p->capture_st = capture ? socket_of(capture) : NULL;
    p->control_st = control_ ? socket_of(control_) : NULL;
    struct sock *known[4] = {p->front_st, p->back_st, p->capture_st, p->control_st};
    for (int i = 0; i < 4 && !ctx; i++) ctx = known[i] ? known[i]->ctx : NULL;
  }
  /* ZMQ_DEBUG_AGENT_DEVICES=native (as for the Python agent); a control the agent cannot follow: libzmq's loop */
  const char *devices = getenv("ZMQ_DEBUG_AGENT_DEVICES");
  if (p && ((devices && strcmp(devices, "native") == 0) || !libzmq_loop_followed(control_ != NULL) || (control_ && !ctx))) {
    free(p);
    p = NULL;
  }
  if (!p) {
    if (seen) unseen(frontend, backend, steerable ? "zmq_proxy_steerable" : "zmq_proxy");
    errno = e0;
    return steerable ? real_zmq_proxy_steerable(frontend, backend, capture, control_) : real_zmq_proxy(frontend, backend, capture);
  }
  sets_build(p);
  real_zmq_msg_init(&p->msg);
  errno = e0;
  int rc = run(p, ctx);
  int e = errno;
  real_zmq_msg_close(&p->msg);
  free(p);
  errno = e;
  return rc;
}
