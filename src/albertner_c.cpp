// The C API (include/albertner/albertner.h) over the C++ Tagger: one translation unit, built as the
// static library albertner::c. Every entry point checks its pointers, turns a Result's Error into a
// status and keeps the message in a per-thread buffer; nothing here throws or aborts on bad input.
#include <albertner/albertner.h>
#include <albertner/albertner.hpp>

#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

#define ALBERTNER_C_STRINGIFY_IMPL(x) #x
#define ALBERTNER_C_STRINGIFY(x) ALBERTNER_C_STRINGIFY_IMPL(x)

struct albertner_tagger {
  albertner::Tagger<> tagger;
  /// Every label and group name an entity can carry, made once at open, so that the label
  /// pointers handed out stay valid until albertner_close (never reallocated after open).
  std::vector<std::string> names;
  const char* intern(const std::string& label) const noexcept {
    for (const std::string& n : names)
      if (n == label) return n.c_str();
    return nullptr;
  }
};

namespace {

#ifdef ALBERTNER_NO_THREADS
std::string last_error; // one thread only
#else
thread_local std::string last_error;
#endif

albertner_status fail(albertner_status status, const char* what, const std::string& message) {
  last_error.assign(what);
  if (!message.empty()) {
    last_error += ": ";
    last_error += message;
  }
  return status;
}

albertner_status fail(const albertner::Error& e) {
  last_error = e.message();
  return static_cast<albertner_status>(static_cast<int>(e.code()) + 1);
}

albertner_status succeed() {
  last_error.clear();
  return ALBERTNER_OK;
}

static_assert(static_cast<int>(albertner::errc::io) + 1 == ALBERTNER_ERR_IO, "errc and status agree");
static_assert(static_cast<int>(albertner::errc::internal) + 1 == ALBERTNER_ERR_INTERNAL, "errc and status agree");

albertner_status to_options(const albertner_options* in, albertner::TaggerOptions& out) {
  const albertner_options o = in ? *in : albertner_options_default();
  if (o.aggregation < ALBERTNER_AGGREGATION_DEFAULT || o.aggregation > ALBERTNER_AGGREGATION_MAX)
    return fail(ALBERTNER_ERR_INVALID_INPUT, "options",
                "aggregation " + std::to_string(o.aggregation) + " is not an albertner_aggregation (-1..4)");
  if (o.aggregation != ALBERTNER_AGGREGATION_DEFAULT)
    out.aggregation = static_cast<albertner::Aggregation>(o.aggregation);
  out.threads = o.threads;
  out.batch_size = o.batch_size;
  out.window = o.window;
  out.constrained = o.constrained != 0;
  return ALBERTNER_OK;
}

albertner_status finish_open(albertner::Result<albertner::Tagger<>> opened, albertner_tagger** tagger) {
  if (!opened.ok()) return fail(opened.error());
  albertner_tagger* t = new (std::nothrow) albertner_tagger();
  if (!t) return fail(ALBERTNER_ERR_OUT_OF_MEMORY, "open", "out of memory for the tagger handle");
  t->tagger = std::move(opened).value();
  const std::vector<std::string>& labels = t->tagger.labels();
  std::vector<std::string> names;
  names.reserve(labels.size() * 2);
  for (const std::string& label : labels) {
    const std::size_t dash = label.rfind('-');
    for (const std::string& name : {label, dash == std::string::npos ? label : label.substr(dash + 1)}) {
      bool seen = false;
      for (const std::string& n : names) seen = seen || n == name;
      if (!seen) names.push_back(name);
    }
  }
  t->names = std::move(names);
  *tagger = t;
  return succeed();
}

} // namespace

extern "C" {

const char* albertner_version(void) {
  return ALBERTNER_C_STRINGIFY(ALBERTNER_VERSION_MAJOR) "." ALBERTNER_C_STRINGIFY(
      ALBERTNER_VERSION_MINOR) "." ALBERTNER_C_STRINGIFY(ALBERTNER_VERSION_PATCH);
}

const char* albertner_status_name(albertner_status status) {
  switch (status) {
  case ALBERTNER_OK: return "ok";
  case ALBERTNER_ERR_IO: return "io";
  case ALBERTNER_ERR_FORMAT: return "format";
  case ALBERTNER_ERR_UNSUPPORTED: return "unsupported";
  case ALBERTNER_ERR_CONFIG: return "config";
  case ALBERTNER_ERR_MISSING: return "missing";
  case ALBERTNER_ERR_SHAPE: return "shape";
  case ALBERTNER_ERR_INVALID_INPUT: return "invalid_input";
  case ALBERTNER_ERR_SECURITY: return "security";
  case ALBERTNER_ERR_INTERNAL: return "internal";
  case ALBERTNER_ERR_NULL_ARGUMENT: return "null_argument";
  case ALBERTNER_ERR_BUFFER_TOO_SMALL: return "buffer_too_small";
  case ALBERTNER_ERR_OUT_OF_MEMORY: return "out_of_memory";
  }
  return "unknown";
}

const char* albertner_last_error(void) { return last_error.c_str(); }

albertner_options albertner_options_default(void) {
  albertner_options o;
  o.aggregation = ALBERTNER_AGGREGATION_DEFAULT;
  o.threads = 1;
  o.batch_size = 8;
  o.window = 0;
  o.constrained = 0;
  return o;
}

albertner_status albertner_open(const char* path, const albertner_options* options, albertner_tagger** tagger) {
  if (!tagger) return fail(ALBERTNER_ERR_NULL_ARGUMENT, "albertner_open", "tagger (the output handle) is NULL");
  *tagger = nullptr;
  if (!path) return fail(ALBERTNER_ERR_NULL_ARGUMENT, "albertner_open", "path is NULL");
  albertner::TaggerOptions o;
  const albertner_status s = to_options(options, o);
  if (s != ALBERTNER_OK) return s;
  return finish_open(albertner::Tagger<>::open(path, std::move(o)), tagger);
}

albertner_status albertner_open_memory(const void* data, size_t size, const albertner_options* options,
                                       albertner_tagger** tagger) {
  if (!tagger) return fail(ALBERTNER_ERR_NULL_ARGUMENT, "albertner_open_memory", "tagger (the output handle) is NULL");
  *tagger = nullptr;
  if (!data) return fail(ALBERTNER_ERR_NULL_ARGUMENT, "albertner_open_memory", "data is NULL");
  albertner::TaggerOptions o;
  const albertner_status s = to_options(options, o);
  if (s != ALBERTNER_OK) return s;
  auto opened = albertner::Tagger<>::from_buffer(data, size, std::move(o));
  if (!opened.ok()) return fail(opened.error().with_context("model in memory (" + std::to_string(size) + " bytes)"));
  return finish_open(std::move(opened), tagger);
}

void albertner_close(albertner_tagger* tagger) { delete tagger; }

albertner_status albertner_tag(const albertner_tagger* tagger, const char* text, size_t length,
                               albertner_entity* entities, size_t capacity, size_t* count) {
  if (count) *count = 0;
  if (!tagger) return fail(ALBERTNER_ERR_NULL_ARGUMENT, "albertner_tag", "tagger is NULL");
  if (!count) return fail(ALBERTNER_ERR_NULL_ARGUMENT, "albertner_tag", "count is NULL");
  if (!text && length > 0)
    return fail(ALBERTNER_ERR_NULL_ARGUMENT, "albertner_tag", "text is NULL with length " + std::to_string(length));
  if (!entities && capacity > 0)
    return fail(ALBERTNER_ERR_NULL_ARGUMENT, "albertner_tag",
                "entities is NULL with capacity " + std::to_string(capacity));
  auto found = tagger->tagger.tag(length ? std::string(text, length) : std::string());
  if (!found.ok()) {
    // tag() runs a batch of one and names the failing text "text 0": here it is simply "text".
    std::string message = found.error().message();
    if (message.compare(0, 8, "text 0: ") == 0) message.erase(0, 8);
    last_error = "albertner_tag: " + message;
    return static_cast<albertner_status>(static_cast<int>(found.error().code()) + 1);
  }
  const std::vector<albertner::Entity>& all = found.value();
  for (std::size_t i = 0; i < all.size() && i < capacity; ++i) {
    const albertner::Entity& e = all[i];
    albertner_entity& out = entities[i];
    out.label = tagger->intern(e.label);
    if (!out.label)
      return fail(ALBERTNER_ERR_INTERNAL, "albertner_tag", "entity label '" + e.label + "' is not one of the model's");
    out.score = e.score;
    out.byte_start = e.byte_start;
    out.byte_end = e.byte_end;
    out.start = e.start;
    out.end = e.end;
  }
  *count = all.size();
  if (all.size() > capacity)
    return fail(ALBERTNER_ERR_BUFFER_TOO_SMALL, "albertner_tag",
                "entities: " + std::to_string(all.size()) + " found, room for " + std::to_string(capacity));
  return succeed();
}

size_t albertner_label_count(const albertner_tagger* tagger) { return tagger ? tagger->tagger.labels().size() : 0; }

const char* albertner_label(const albertner_tagger* tagger, size_t index) {
  if (!tagger || index >= tagger->tagger.labels().size()) return nullptr;
  return tagger->tagger.labels()[index].c_str();
}

size_t albertner_workspace_bytes(const albertner_tagger* tagger, size_t positions) {
  if (!tagger) return 0;
  const albertner::Encoder& encoder = tagger->tagger.encoder();
  const std::int64_t limit = static_cast<std::int64_t>(tagger->tagger.options().window);
  const std::int64_t n =
      positions == 0 || static_cast<std::int64_t>(positions) > limit ? limit : static_cast<std::int64_t>(positions);
  return encoder.workspace_bytes(1, n);
}

} // extern "C"
