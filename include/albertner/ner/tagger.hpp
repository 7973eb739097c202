// Tagger<Decoder>: UTF-8 text in, entities out. Tokenizes, splits long documents into
// overlapping windows, runs length-sorted batches through the encoder and decodes spans with
// Decoder (SpanDecoder by default: Tagger<>). One Tagger serves any number of threads at once.
//
// Header-only by default: including this header (or <albertner/albertner.hpp>) compiles the
// whole engine into the file. For applications with many files, the declarations-only mode:
// compile every file with ALBERTNER_DECLARATIONS_ONLY defined (they then see these declarations,
// <albertner/ner/entity.hpp> and <albertner/status.hpp> only, not Eigen or sentencepiece), and in
// exactly one file also define ALBERTNER_IMPLEMENTATION before including <albertner/albertner.hpp>:
// that file holds the engine (the explicit instantiation of Tagger<SpanDecoder>, i.e. Tagger<>).
// The members that name Model, Tokenizer, Encoder or Encoding need their headers where they are
// called. A Tagger with a decoder of its own is not instantiated there: the files that use one
// need the full header (compiled without ALBERTNER_DECLARATIONS_ONLY).
#pragma once

#include "../status.hpp"
#include "entity.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace albertner {

class Model;
class Tokenizer;
struct Encoding;
class Encoder;
struct SpanDecoder; // ner/span_decoder.hpp: decode_entities, the Tagger's default decoder

struct TaggerOptions {
  static constexpr std::size_t auto_size = static_cast<std::size_t>(-1);
  /// How tokens become entities (see Aggregation); unset: the one the model file recommends
  /// (`albertner convert --aggregation`), else `simple`, as Hugging Face's pipeline. A call may
  /// choose another (CallOptions).
  std::optional<Aggregation> aggregation = std::nullopt;
  /// Entities with these labels (or group labels) are dropped.
  std::vector<std::string> ignore_labels = {"O"};
  /// Labels tokens or words with the most probable valid IOB2 sequence (Viterbi: `I-X` only after
  /// `B-X` or `I-X`) instead of each one's argmax (DecodeOptions::constrained). Off: Hugging
  /// Face's pipeline has no such step, and parity with it is the default.
  bool constrained = false;
  /// Model positions per window including [CLS]/[SEP]; 0 = the model's limit
  /// (min of model_max_length and max_position_embeddings).
  std::size_t window = 0;
  /// Content tokens shared by consecutive windows of a long document; `auto_size`: window / 4
  /// (128 for 512 positions).
  std::size_t overlap = auto_size;
  /// Sequences run through the encoder together (padded to the longest in the group).
  std::size_t batch_size = 8;
  /// Threads in all, the calling one included (1 = it alone; at most 256). They are started once,
  /// at open, and shared by every call: a call with several groups of sequences shares the groups
  /// out among them, a call with one shares each big enough step of its encoder pass. A call that
  /// finds them busy with another call runs on its own thread. Never more than this many run
  /// for the Tagger's own work, however many threads call it.
  std::size_t threads = 1;
};

/// What one call may choose differently from the Tagger's options; unset fields keep them.
struct CallOptions {
  std::optional<Aggregation> aggregation = std::nullopt;
  std::optional<std::vector<std::string>> ignore_labels = std::nullopt;
  std::optional<bool> constrained = std::nullopt;
};

/// Text → entities with one model. The weights' precision comes from the model file: F32, BF16
/// (`convert --dtype bf16`) or I8.
///
/// Decoder turns each text's per-token logits into entities (after the encoder, the windows
/// stitched). The default, SpanDecoder, is decode_entities: Hugging Face's pipeline
/// post-processing. Another decoder is a default-constructible type with a static or const
/// member function
///
///   Result<std::vector<Entity>> decode(const std::string& text, const std::vector<TokenInfo>& tokens,
///                                      const float* logits, std::size_t num_labels,
///                                      const std::vector<std::string>& labels,
///                                      const DecodeOptions& options) const;
///
/// called once per text of a tag or tag_batch call on a value-initialized `const Decoder`, with
/// the arguments decode_entities takes (see there): the text, token_infos of its encoding, its
/// document_logits [tokens][num_labels] (num_labels = labels.size()), the model's labels, and the
/// call's options resolved (aggregation, ignore_labels, the tokenizer's unk_id, constrained). It
/// may be called from several threads at once. Its error fails the call, with the text's index
/// as context. It may call SpanDecoder::decode and filter or rewrite what it returns. SpanDecoder
/// and DecodeOptions are in <albertner/ner/span_decoder.hpp>.
///
/// Threads: tag, tag_batch, document_logits and every other member are const and may be called
/// from any number of threads at once on one Tagger. The weights are packed once per open model;
/// each call borrows scratch (an encoder workspace) from the Tagger's small pool and gives it
/// back, so after the first calls at the highest concurrency no call allocates scratch again.
/// Copies of a Tagger share the model, the threads and the scratch pool (cheap to copy, like a
/// shared_ptr). A default-constructed or moved-from Tagger holds no model: its calls return
/// errc::invalid_input.
template <class Decoder = SpanDecoder>
class Tagger {
public:
  Tagger() = default;

  /// Opens a model file (mapped) made by `albertner convert`. Errors name the path.
  static Result<Tagger> open(const std::string& path, TaggerOptions options = {});
  /// From model-file bytes the caller keeps alive for the Tagger's lifetime.
  static Result<Tagger> from_buffer(const void* data, std::size_t size, TaggerOptions options = {});
  static Result<Tagger> from_model(Model model, TaggerOptions options = {});

  /// False for a default-constructed or moved-from Tagger.
  bool has_model() const noexcept { return state_ != nullptr; }
  // The accessors below require has_model().
  const Model& model() const noexcept;
  const Tokenizer& tokenizer() const noexcept;
  const Encoder& encoder() const noexcept;
  /// The options in force: the aggregation, window and overlap resolved.
  const TaggerOptions& options() const noexcept;
  const std::vector<std::string>& labels() const noexcept;

  /// Entities of one text (offsets into `text`). Long texts are windowed, never truncated.
  Result<std::vector<Entity>> tag(const std::string& text, const CallOptions& call = {}) const;

  /// Entities of many texts, in input order. The first failing text fails the whole call.
  Result<std::vector<std::vector<Entity>>> tag_batch(const std::vector<std::string>& texts,
                                                     const CallOptions& call = {}) const;

  /// Logits [tokens][labels] for each encoding (its [CLS] and [SEP] rows included), stitched
  /// from the windows of long documents; each token's row comes from the window in which it
  /// sits most centrally.
  Result<std::vector<std::vector<float>>> document_logits(const std::vector<Encoding>& encodings) const;

  /// What decode_entities (and the Decoder) needs to know of each token.
  std::vector<TokenInfo> token_infos(const Encoding& e) const;

  /// Grows the scratch of `concurrency` callers (each with options().threads workspaces) for
  /// groups of batch_size sequences of up to `seq_len` tokens, so that the calls after it allocate
  /// no encoder scratch. Errors: those of Encoder::reserve.
  Status reserve(std::size_t concurrency, std::int64_t seq_len) const;

private:
  struct State;
  struct Slot;
  class Lease;
  struct Job;
  struct Group;
  struct Run;

  static Aggregation default_aggregation(const Model& model);
  Status check_model() const;

  std::shared_ptr<const State> state_;
};

} // namespace albertner

#if !defined(ALBERTNER_DECLARATIONS_ONLY) || defined(ALBERTNER_IMPLEMENTATION)
#include "tagger_impl.hpp"
#endif
