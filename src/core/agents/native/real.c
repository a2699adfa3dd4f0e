/*
 * The real libzmq functions behind the agent's wrappers: the next definition
 * after ours in the loader's order, or the libzmq a binding loaded privately;
 * and, per call site, whether the caller has a libzmq of its own.
 */
#include "agent.h"

#include <dlfcn.h>
#include <link.h>

#define DEFINE_REAL(ret, name, args) ret(*real_##name) args;
REAL_FUNCTIONS(DEFINE_REAL)

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
void *resolve(const char *name) {
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

void *caller_own(void *site, const char *name) {
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
