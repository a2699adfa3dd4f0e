/*
 * The agent's JSON reports, in the wire format of the other agents
 * (docs/agent-protocol.md), and the names they carry: errno names, socket
 * types, the options the doctor reads.
 */
#include "agent.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

void sb_add(struct sb *b, const char *s, size_t n) {
  sb_reserve(b, n);
  if (b->failed) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

void sb_printf(struct sb *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void sb_str(struct sb *b, const char *s, size_t n) {
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

void sb_b64(struct sb *b, const unsigned char *s, size_t n) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  sb_add(b, "\"", 1);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
    char o[4] = {t[v >> 18 & 63], t[v >> 12 & 63], i + 1 < n ? t[v >> 6 & 63] : '=', i + 2 < n ? t[v & 63] : '='};
    sb_add(b, o, 4);
  }
  sb_add(b, "\"", 1);
}

struct item *json_item(struct sb *b) {
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

void control(struct sb *b) {
  struct item *it = json_item(b);
  if (it) enqueue(it);
  else count_dropped(1);
}

const char *errno_name(int e) {
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

void sb_errno(struct sb *b, int e) {
  const char *n = errno_name(e);
  if (n) sb_printf(b, "\"%s\"", n);
  else sb_printf(b, "\"%d\"", e);
}

const char *type_name(int t) {
  static const char *names[] = {"PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB",
                                "STREAM", "SERVER", "CLIENT", "RADIO", "DISH", "GATHER", "SCATTER", "DGRAM", "PEER", "CHANNEL"};
  return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "?";
}

const char *option_name(int o) {
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
