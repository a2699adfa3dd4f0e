/*
 * What zmq_proxy and zmq_proxy_steerable forward. libzmq moves the messages
 * inside, without its API; given a capture socket, it sends a copy of each
 * there. When the program gives none, the agent gives one: an inproc PUB of
 * the agent's in the frontend's context, read by a SUB of the agent's on the
 * reporter thread (a PUB never blocks the proxy: a reader that falls more than
 * READER_HWM messages behind loses copies, uncounted).
 *
 * A capture says nothing of direction. It is known from the sockets' types
 * when only one way can carry messages (PULL → PUSH, SUB → PUB, either way
 * round): each message is then reported received by the socket it came in on
 * and sent by the one it went out of, as a program's own loop would be. Where
 * both ways can (ROUTER/DEALER, XSUB/XPUB, PAIR), or the program gives its own
 * capture, the messages are not reported and both sockets get a
 * `device:unseen` event: the doctor then does not read their counts as loss.
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>

struct capture {
  uint32_t from, to; /* the socket messages come in on, the one they go out of */
  struct frames in, out;
};

static int can_send(int type) { return type != ZMQ_SUB && type != 7 /* PULL */; }
static int can_recv(int type) { return type != ZMQ_PUB && type != 8 /* PUSH */; }

/* device:unseen on each socket: its messages move where the agent does not see them */
static void unseen(void *frontend, void *backend, const char *kind) {
  void *socks[2] = {frontend, backend};
  for (int i = 0; i < 2; i++) {
    struct sock *st = socks[i] ? socket_of(socks[i]) : NULL;
    if (!st || (i == 1 && backend == frontend)) continue;
    struct sb b = {0};
    sb_printf(&b, "{\"type\":\"event\",\"socket\":%u,\"event\":\"device:unseen\",\"address\":\"%s\",\"ts\":%.6f}", st->id, kind, now_s());
    control(&b);
  }
}

/* The agent's capture for a proxy whose direction is known, held by the caller; *writer is the PUB to give libzmq. */
static struct reader *capture_open(void *frontend, void *backend, void **writer) {
  struct sock *f = socket_of(frontend), *b = frontend != backend ? socket_of(backend) : NULL;
  if (!f || !b || !f->ctx || !get_zmq_bind()) return NULL;
  int forward = can_recv(f->type) && can_send(b->type), backward = can_recv(b->type) && can_send(f->type);
  if (forward == backward) return NULL;
  struct reader *r = calloc(1, sizeof *r);
  struct capture *c = calloc(1, sizeof *c);
  char addr[96];
  static atomic_uint captures;
  snprintf(addr, sizeof addr, "inproc://zmq-debug-agent-capture.%d.%u", (int)my_pid, atomic_fetch_add(&captures, 1) + 1);
  void *sub = r && c ? reader_socket(f->ctx, ZMQ_SUB, addr) : NULL;
  void *pub = sub ? real_zmq_socket(f->ctx, ZMQ_PUB) : NULL;
  int linger = 0;
  if (!pub || real_zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof linger) != 0 || real_zmq_bind(pub, addr) != 0) {
    if (pub) real_zmq_close(pub);
    if (sub) real_zmq_close(sub);
    free(c);
    free(r);
    return NULL;
  }
  c->from = forward ? f->id : b->id;
  c->to = forward ? b->id : f->id;
  r->ctx = f->ctx;
  r->pair = sub;
  r->capture = c;
  r->refs = 1;
  reader_add(r);
  *writer = pub;
  return r;
}

int capture_read(struct reader *r) {
  struct capture *c = r->capture;
  zmq_msg_t msg;
  real_zmq_msg_init(&msg);
  int ok = real_zmq_msg_recv(&msg, r->pair, ZMQ_DONTWAIT) >= 0;
  if (ok) {
    int more = real_zmq_msg_more(&msg);
    /* the two sides move together: one gate decision, a report on each socket */
    int keep = frame_wanted(&c->in);
    if (keep) {
      frame_append(&c->in, real_zmq_msg_data(&msg), real_zmq_msg_size(&msg));
      frame_append(&c->out, real_zmq_msg_data(&msg), real_zmq_msg_size(&msg));
    }
    frame_done(&c->in, c->from, keep, more, 1);
    frame_done(&c->out, c->to, keep, more, 0);
  }
  real_zmq_msg_close(&msg);
  return ok;
}

void capture_finish(struct reader *r) {
  free(r->capture->in.it);
  free(r->capture->out.it);
  free(r->capture);
  r->capture = NULL;
}

int proxy_observed(void *frontend, void *backend, void *capture, void *control_, int steerable) {
  const char *kind = steerable ? "zmq_proxy_steerable" : "zmq_proxy";
  int e0 = errno;
  void *writer = NULL;
  struct reader *r = capture ? NULL : capture_open(frontend, backend, &writer);
  if (!r) unseen(frontend, backend, kind);
  errno = e0;
  int rc = steerable ? real_zmq_proxy_steerable(frontend, backend, r ? writer : capture, control_)
                     : real_zmq_proxy(frontend, backend, r ? writer : capture);
  int e = errno;
  if (r) {
    real_zmq_close(writer);
    reader_stopped(r);
  }
  errno = e;
  return rc;
}
