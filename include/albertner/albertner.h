/* albertner C API: ALBERT named-entity recognition for C99 and other languages' FFIs.
 *
 * A stable, C-only surface over the C++ library (static library `albertner::c`, pkg-config
 * `albertner-c`): open a model file from a path or from memory (a model linked into flash), tag UTF-8
 * text into a buffer of entities the caller owns, close.
 *
 * Errors are values: every fallible function returns an albertner_status. ALBERTNER_OK is 0; on any
 * other status albertner_last_error() gives a message that says what and where (the caller's path,
 * "text: invalid UTF-8 at byte 3", "entities: 5 found, room for 2"). No function aborts or reads past
 * the lengths it is given; a null handle or pointer is ALBERTNER_ERR_NULL_ARGUMENT, never a crash.
 *
 * Threads: one albertner_tagger may be shared by any number of threads at once; albertner_tag is
 * safe to call concurrently on the same handle (each call borrows its own scratch). Only
 * albertner_close must not overlap any other call on that handle. albertner_last_error() is kept
 * per thread. A library built with ALBERTNER_NO_THREADS (systems without pthreads) starts no
 * thread and locks nothing: there, calls on one handle must not overlap and threads > 1 is
 * ALBERTNER_ERR_UNSUPPORTED.
 *
 * Memory: a tagger opened from memory reads the caller's bytes in place for its whole life (weights
 * are not copied unless they must be packed); keep them alive and unchanged until albertner_close.
 * Label strings returned by the API belong to the tagger and live until albertner_close.
 */
#ifndef ALBERTNER_ALBERTNER_H
#define ALBERTNER_ALBERTNER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ALBERTNER_VERSION_MAJOR 0
#define ALBERTNER_VERSION_MINOR 1
#define ALBERTNER_VERSION_PATCH 0

/** What went wrong. The first group mirrors the C++ library's albertner::errc. */
typedef enum albertner_status {
  ALBERTNER_OK = 0,
  ALBERTNER_ERR_IO = 1,                /**< the file cannot be opened, read or mapped */
  ALBERTNER_ERR_FORMAT = 2,            /**< the bytes are not a valid model file (e.g. truncated) */
  ALBERTNER_ERR_UNSUPPORTED = 3,       /**< valid but not handled (a dtype; threads > 1 without threads) */
  ALBERTNER_ERR_CONFIG = 4,            /**< the model's configuration is inconsistent */
  ALBERTNER_ERR_MISSING = 5,           /**< a tensor or field the model needs is absent */
  ALBERTNER_ERR_SHAPE = 6,             /**< a tensor has the wrong shape or dtype */
  ALBERTNER_ERR_INVALID_INPUT = 7,     /**< bad caller input: invalid UTF-8, an option out of range */
  ALBERTNER_ERR_SECURITY = 8,          /**< the input tried something forbidden */
  ALBERTNER_ERR_INTERNAL = 9,          /**< a broken invariant inside the library (please report) */
  ALBERTNER_ERR_NULL_ARGUMENT = 10,    /**< a required handle or pointer is NULL */
  ALBERTNER_ERR_BUFFER_TOO_SMALL = 11, /**< the entities do not fit; *count says how many there are */
  ALBERTNER_ERR_OUT_OF_MEMORY = 12     /**< an allocation of the C layer failed */
} albertner_status;

/** How tokens become entities (Hugging Face's aggregation strategies). */
typedef enum albertner_aggregation {
  ALBERTNER_AGGREGATION_DEFAULT = -1, /**< the model file's choice, else simple */
  ALBERTNER_AGGREGATION_NONE = 0,     /**< one entity per token, labelled with its tag ("B-PER") */
  ALBERTNER_AGGREGATION_SIMPLE = 1,   /**< adjacent tokens of one group merged ("PER") */
  ALBERTNER_AGGREGATION_FIRST = 2,
  ALBERTNER_AGGREGATION_AVERAGE = 3,
  ALBERTNER_AGGREGATION_MAX = 4
} albertner_aggregation;

/** Options for opening a tagger; start from albertner_options_default(). */
typedef struct albertner_options {
  int aggregation;   /**< an albertner_aggregation; default ALBERTNER_AGGREGATION_DEFAULT */
  size_t threads;    /**< threads in all for the tagger, a calling one included (1..256); default 1 */
  size_t batch_size; /**< windows run through the encoder together; default 8 */
  size_t window;     /**< positions per window, 0 = the model's limit; default 0 */
  int constrained;   /**< nonzero: the most probable valid IOB2 labels (Viterbi), not each argmax; default 0 */
} albertner_options;

/** One entity. Offsets index the text given to albertner_tag; end is exclusive. */
typedef struct albertner_entity {
  const char* label; /**< "PER", or "B-PER" under ALBERTNER_AGGREGATION_NONE; owned by the tagger */
  float score;       /**< the model's confidence, 0..1 */
  size_t byte_start; /**< the span in UTF-8 bytes: text + byte_start, byte_end - byte_start bytes */
  size_t byte_end;
  size_t start; /**< the same span in Unicode code points (Hugging Face's start/end) */
  size_t end;
} albertner_entity;

/** An open model with its tokenizer and encoder; opaque. */
typedef struct albertner_tagger albertner_tagger;

/** "0.1.0": the version of the library linked in (compare with ALBERTNER_VERSION_*). */
const char* albertner_version(void);

/** A short name of a status: "ok", "io", "format", ..., "buffer_too_small"; never NULL. */
const char* albertner_status_name(albertner_status status);

/** The message of the last failed call on this thread ("" if none): what failed and where. Valid
 *  until this thread's next call into the library. Never NULL. */
const char* albertner_last_error(void);

/** The defaults listed in albertner_options. */
albertner_options albertner_options_default(void);

/** Opens the model file at `path` (a .safetensors made by `albertner convert`). `options` may be
 *  NULL for the defaults. On success *tagger is the new handle; on failure it is set to NULL. */
albertner_status albertner_open(const char* path, const albertner_options* options, albertner_tagger** tagger);

/** Opens a model file held in memory (`size` bytes at `data`), e.g. linked into flash. The bytes are
 *  read in place: keep them alive and unchanged until albertner_close. A truncated or corrupt buffer
 *  is ALBERTNER_ERR_FORMAT. */
albertner_status albertner_open_memory(const void* data, size_t size, const albertner_options* options,
                                       albertner_tagger** tagger);

/** Closes the tagger and frees everything it owns. NULL is accepted and does nothing. */
void albertner_close(albertner_tagger* tagger);

/** Tags `length` bytes of UTF-8 at `text` (no terminator needed; NUL bytes are text) and writes
 *  the entities, in text order, to entities[0..capacity). *count receives the number of entities
 *  found. When there are more than `capacity`, the first `capacity` are written and the call
 *  returns ALBERTNER_ERR_BUFFER_TOO_SMALL: call again with a buffer of *count. `entities` may be
 *  NULL when capacity is 0 (to ask for the count). Long texts are windowed, never truncated.
 *  Invalid UTF-8 is ALBERTNER_ERR_INVALID_INPUT with its byte offset. Thread-safe (see above). */
albertner_status albertner_tag(const albertner_tagger* tagger, const char* text, size_t length,
                               albertner_entity* entities, size_t capacity, size_t* count);

/** The number of labels the model predicts (its tag set, "O" included); 0 for NULL. */
size_t albertner_label_count(const albertner_tagger* tagger);

/** Label `index` of the tag set ("O", "B-PER", ...), owned by the tagger; NULL when out of range. */
const char* albertner_label(const albertner_tagger* tagger, size_t index);

/** The encoder's scratch in bytes for one window of `positions` tokens (0 = the model's limit):
 *  what a call needs beyond the model; 0 for NULL. */
size_t albertner_workspace_bytes(const albertner_tagger* tagger, size_t positions);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ALBERTNER_ALBERTNER_H */
