// The ALBERT encoder and token-classification head: token ids in, per-token label logits out,
// computed as Hugging Face's AlbertForTokenClassification computes them at inference.
#pragma once

#include "../io/tensor.hpp"
#include "../model/config.hpp"
#include "../model/weight_binding.hpp"
#include "../status.hpp"
#include "activations.hpp"
#include "fp32_kernels.hpp"
#include "layer_norm.hpp"
#include "scratch.hpp"
#include "worker_pool.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/mman.h>

namespace albertner {

/// A batch of token sequences, all padded to `seq_len`. Arrays are row-major [batch, seq_len]
/// and are only read during forward().
struct EncoderInput {
  std::int64_t batch = 0;
  std::int64_t seq_len = 0;
  const std::int64_t* input_ids = nullptr;      ///< required; each in [0, vocab_size)
  const std::int64_t* token_type_ids = nullptr; ///< nullptr: all 0; else each in [0, type_vocab_size)
  const std::int64_t* attention_mask = nullptr; ///< nullptr: all 1; else 1 = real token, 0 = padding
  /// false: every position is computed, padding as Hugging Face computes it. true: the positions
  /// after each row's last real token (trailing attention_mask 0) are skipped and hold 0 in every
  /// output; real tokens get the same values either way, since padded keys get exactly zero
  /// attention weight. The Tagger sets it: batches of unequal lengths cost only their real tokens.
  bool skip_padding = false;
};

/// What forward() produced. The pointers lead into the Workspace that was passed to it and stay
/// valid until that workspace is used again or destroyed. Positions whose attention_mask is 0
/// hold what Hugging Face computes there (their queries still attend to the real keys), or 0 for
/// trailing padding skipped with EncoderInput::skip_padding.
struct EncoderOutput {
  std::int64_t batch = 0;
  std::int64_t seq_len = 0;
  std::int64_t hidden_size = 0;
  std::int64_t num_labels = 0;
  const float* logits = nullptr;            ///< [batch, seq_len, num_labels]
  const float* last_hidden_state = nullptr; ///< [batch, seq_len, hidden_size]
};

/// The points of the forward pass at which an observer is called, each as soon as the stage is
/// done, in this order: embeddings, projection, then for each loop iteration `index` (0 ..
/// num_hidden_layers-1) qkv .. ffn_out once per inner layer of its group and then layer; last
/// head. With rows = batch * seq_len:
enum class Stage {
  embeddings,       ///< lookup, sum and the embeddings' LayerNorm: [rows, embedding_size]; index 0
  projection,       ///< embedding_hidden_mapping_in: [rows, hidden_size]; index 0
  qkv,              ///< an inner layer's query, key and value projections, one parallel step:
                    ///< [3 * rows, hidden_size], the queries, then the keys, then the values
  attention,        ///< its scores, softmax and context of every head: the context [rows, hidden_size]
  attention_output, ///< dense + residual, LayerNorm: [rows, hidden_size]
  ffn_in,           ///< ffn + activation: [rows, intermediate_size]
  ffn_out,          ///< ffn_output + residual, LayerNorm: the inner layer's output [rows, hidden_size]
  layer,            ///< loop iteration `index` (all inner layers of its group): [rows, hidden_size];
                    ///< HF's hidden_states[index + 1]
  head,             ///< the classifier's logits: [rows, num_labels]; index 0
};

/// The forward pass's one observation hook: called on the calling thread once per stage for the
/// whole batch, with the stage's activations row-major [rows, cols] (row = b * seq_len + t; qkv
/// has three such blocks). The data may be read, not kept: the buffer is reused by later stages.
/// Rows of padding skipped with EncoderInput::skip_padding hold 0 in embeddings, projection,
/// ffn_out, layer and head, and unspecified values in the other stages. What forward() computes
/// is the same with or without an observer; one costs nothing but one null test per stage when
/// `callback` is null. Tests capture the activations through it; bench/stages.cpp times the
/// stages with it (the time between a stage's call and the one before it).
using StageCallback = void (*)(void* user, Stage stage, std::int64_t index, const float* data, std::int64_t rows,
                               std::int64_t cols);
struct StageObserver {
  StageCallback callback = nullptr;
  void* user = nullptr;
};

/// Encoder::create's default `release`: the caller keeps every byte it lent.
struct KeepBytes {
  void operator()(const void*, std::size_t) const noexcept {}
};

template <class Decoder>
class Tagger;

/// The encoder: fp32 arithmetic over the weights as the model file stores them (F32, BF16 or I8;
/// the precision is the file's, not a type's). It keeps pointers into the weight bytes it was
/// created from and copies nothing, so the object that owns them (a SafeTensors file mapping,
/// say) must outlive the Encoder. forward() is const: threads may share one Encoder, each with
/// its own Workspace.
class Encoder {
public:
  /// Scratch memory and threads for forward(). Its arrays grow to the largest shape seen and are
  /// never shrunk, so repeated calls with the same or smaller batch and seq_len allocate nothing;
  /// reserve() grows them ahead of the first call. Or they live in one buffer the caller owns
  /// (Encoder::use_buffer): then no pass allocates, and a pass that does not fit is an error.
  class Workspace {
  public:
    /// forward() with this workspace runs on `threads` threads, the calling one included (1 by
    /// default). The threads live as long as the workspace (or the last workspace sharing them)
    /// and sleep between calls. A step of the pass is split only when it is big enough to gain
    /// from it, into more parts than threads; the calling thread takes parts too and never waits
    /// for a helper that has not started one, so a busy machine costs little.
    /// Errors: errc::invalid_input for 0 or more than 256, errc::io when the system refuses a
    /// thread, errc::unsupported for more than 1 in a build with ALBERTNER_NO_THREADS.
    Status set_threads(std::size_t threads) {
      auto pool = std::make_shared<detail::WorkerPool>();
      ALBERTNER_CHECK(pool->start(threads));
      pool_ = std::move(pool);
      return ok_status();
    }
    /// Runs on the threads of `other` from now on (set_threads there, or shared by it): one set of
    /// threads for several workspaces that run passes at the same time. One pass has the threads
    /// at a time; a pass that finds them busy runs on its calling thread alone.
    void share_threads_with(const Workspace& other) { pool_ = other.pool_; }
    std::size_t threads() const noexcept { return pool_ ? pool_->threads() : 1; }
    /// Bytes of scratch held now; with a caller's buffer, the bytes of it that the last pass used
    /// (alignment padding aside).
    std::size_t bytes() const noexcept {
      std::size_t n = lengths_.size() * sizeof(std::int64_t) + rounded_.size() * sizeof(std::uint16_t) +
                      quantized_.size() + row_scales_.size() * sizeof(float);
      for (const detail::ScratchArray<float>* v : buffers()) n += v->size() * sizeof(float);
      return n;
    }
    /// The caller's buffer given to Encoder::use_buffer (nullptr: the workspace owns its scratch).
    const void* buffer() const noexcept { return buffer_; }
    std::size_t buffer_bytes() const noexcept { return buffer_bytes_; }
    /// Forgets the caller's buffer (which may then be freed): the next pass grows scratch of the
    /// workspace's own again, allocating.
    void drop_buffer() noexcept {
      buffer_ = nullptr;
      buffer_bytes_ = 0;
      for (detail::ScratchArray<float>* v : buffers()) v->clear();
      rounded_.clear();
      quantized_.clear();
      row_scales_.clear();
      lengths_.clear();
    }

  private:
    friend class Encoder;
    template <class>
    friend class Tagger; // shares one pool among the workspaces of its calls
    std::array<const detail::ScratchArray<float>*, 8> buffers() const {
      return {&embedded_, &hidden_, &layer_, &attention_, &scores_, &key_bias_, &operands_, &logits_};
    }
    std::array<detail::ScratchArray<float>*, 8> buffers() {
      return {&embedded_, &hidden_, &layer_, &attention_, &scores_, &key_bias_, &operands_, &logits_};
    }
    /// Runs a parallel step: through the pool when there is one, else every part on the caller.
    void run(detail::WorkerPool::Task task, void* context, std::size_t parts) {
      if (pool_) return pool_->run(task, context, parts);
      for (std::size_t p = 0; p < parts; ++p) task(context, p, parts, 0);
    }
    std::shared_ptr<detail::WorkerPool> pool_; ///< null: the calling thread alone
    // layer_ holds query, key, value and context [rows, H] one after another until the attention
    // output is in attention_, then the FFN's intermediate [rows, I]: rows * max(4H, I) floats.
    // Each array owns its storage, or (buffer_ set) points into the caller's buffer, cut anew for
    // each pass's shape in this order, each part kScratchAlignment-aligned.
    detail::ScratchArray<float> embedded_, hidden_, layer_, attention_, scores_, key_bias_, operands_, logits_;
    detail::ScratchArray<std::uint16_t> rounded_;  ///< a product's left-hand side in bf16 (bf16 weights only)
    detail::ScratchArray<std::uint8_t> quantized_; ///< a product's left-hand side in int8 + 128 (int8 weights only)
    detail::ScratchArray<float> row_scales_;       ///< and its scale per row
    detail::ScratchArray<std::int64_t> lengths_;   ///< rows computed per sequence
    unsigned char* buffer_ = nullptr;              ///< the caller's (use_buffer); not owned
    std::size_t buffer_bytes_ = 0;
  };

  /// Binds every weight of `config` (the names, shapes and roles of model/weight_schema.hpp) by its
  /// Hugging Face state_dict name through `lookup`, a callable
  /// `const TensorView* (const std::string& name)` that returns nullptr when the name is absent.
  /// Each tensor must have exactly the shape the config implies and be F32; the matrices
  /// (embedding tables and Linear weights) may be BF16 instead: the arithmetic stays fp32, except
  /// that on avx512_bf16 kernels the products with BF16 weights round their other operand to bf16
  /// too (BF16 dot products, fp32 accumulation); or I8 with F32 row scales `<name>_scale`: the
  /// products then quantize their other operand per row and sum in int32.
  /// Errors: errc::config (invalid config), errc::missing (absent tensor), errc::shape (dtype or
  /// shape), errc::format (byte count), errc::unsupported (data not float-aligned).
  /// Where the AVX-512 kernels run, the Linear weights are copied into their layout; `release`,
  /// a callable `void (const void* data, std::size_t bytes)`, then hears of each weight whose
  /// bytes forward() will not read again (Model lets the file's pages go; the default keeps them).
  template <class Lookup, class Release = KeepBytes>
  static Result<Encoder> create(const ModelConfig& config, Lookup&& lookup, Release&& release = Release{});

  const ModelConfig& config() const noexcept { return config_; }

  /// Runs the model on `input`, telling `observer` (if its callback is set) of each Stage as it
  /// is done. Errors (errc::invalid_input) name the offending array, batch row and position;
  /// nothing is computed or observed then.
  Result<EncoderOutput> forward(const EncoderInput& input, Workspace& workspace, StageObserver observer = {}) const;

  /// Bytes of scratch that forward() on [batch, seq_len] holds in a workspace of `threads`
  /// threads: what Workspace::bytes() reports after that call, known before it.
  std::size_t workspace_bytes(std::int64_t batch, std::int64_t seq_len, std::size_t threads = 1) const noexcept {
    std::size_t n = 0;
    for (std::size_t bytes : array_bytes(batch, seq_len, threads)) n = detail::saturating_add(n, bytes);
    return n;
  }

  /// Bytes of a caller's buffer (use_buffer) in which forward() runs on [batch, seq_len] and every
  /// smaller shape with `threads` threads: workspace_bytes with each of the workspace's 12 arrays
  /// rounded up to 64 bytes, plus 63 for aligning a buffer that starts anywhere.
  std::size_t workspace_buffer_bytes(std::int64_t batch, std::int64_t seq_len, std::size_t threads = 1) const noexcept {
    std::size_t n = detail::kScratchAlignment - 1;
    for (std::size_t bytes : array_bytes(batch, seq_len, threads))
      n = detail::saturating_add(n, detail::scratch_round_up(bytes));
    return n;
  }

  /// Grows `workspace` for [batch, seq_len] with its current threads now, so that the first
  /// forward() of that shape allocates nothing; on a workspace with a caller's buffer, checks that
  /// the shape fits it. Errors: errc::invalid_input for shapes forward() would refuse, or that
  /// do not fit the buffer.
  Status reserve(Workspace& workspace, std::int64_t batch, std::int64_t seq_len) const;

  /// Makes `workspace` keep all its scratch in the `bytes` bytes at `data`, which the caller owns:
  /// keep them alive, and touch them not, while the workspace may run a pass (until drop_buffer, a
  /// later use_buffer or its destruction). The scratch it held is freed. From then on no pass
  /// allocates scratch: each cuts its arrays for its shape out of the buffer (each part aligned to
  /// 64 bytes, whatever `data`'s alignment), and a pass whose
  /// workspace_buffer_bytes(batch, seq_len, workspace.threads()) exceeds `bytes` returns
  /// errc::invalid_input, naming both, without writing to the buffer. `bytes` must be at least
  /// workspace_buffer_bytes(max_batch, max_len, workspace.threads()), so that every shape up to
  /// [max_batch, max_len] fits (set threads first). The results of forward() point into the
  /// buffer. A copy of the workspace uses the same buffer: run passes on one of them at a time.
  /// The portable (Eigen) kernels still allocate inside their products (see docs/design.md).
  /// Errors: errc::invalid_input for a null `data`, a shape forward() would refuse, or too few
  /// bytes (the needed and given counts in the message); the workspace is unchanged then.
  Status use_buffer(Workspace& workspace, void* data, std::size_t bytes, std::int64_t max_batch,
                    std::int64_t max_len) const;

private:
  struct Layer {
    detail::DenseF32 query, key, value, dense;
    detail::NormF32 attention_norm;
    detail::DenseF32 ffn, ffn_output;
    detail::NormF32 output_norm;
  };

  /// Floats of each Workspace buffer, in Workspace::buffers() order.
  std::array<std::int64_t, 8> buffer_sizes(std::int64_t batch, std::int64_t seq_len,
                                           std::size_t threads) const noexcept;
  /// Bytes of every Workspace array, in the order they are cut from a caller's buffer: the eight
  /// of Workspace::buffers(), rounded_, quantized_, row_scales_, lengths_.
  std::array<std::size_t, 12> array_bytes(std::int64_t batch, std::int64_t seq_len,
                                          std::size_t threads) const noexcept {
    std::array<std::size_t, 12> bytes{};
    const std::array<std::int64_t, 8> floats = buffer_sizes(batch, seq_len, threads);
    for (std::size_t i = 0; i < floats.size(); ++i) bytes[i] = static_cast<std::size_t>(floats[i]) * sizeof(float);
    bytes[8] = static_cast<std::size_t>(rounded_size(batch, seq_len)) * sizeof(std::uint16_t);
    bytes[9] = static_cast<std::size_t>(quantized_size(batch, seq_len));
    bytes[10] = static_cast<std::size_t>(row_scales_size(batch, seq_len)) * sizeof(float);
    bytes[11] = static_cast<std::size_t>(batch) * sizeof(std::int64_t);
    return bytes;
  }
  /// bf16 values of Workspace::rounded_: 0 unless some product has packed_bf16 weights.
  std::int64_t rounded_size(std::int64_t batch, std::int64_t seq_len) const noexcept {
    return bf16_products_ ? batch * seq_len * ((widest_depth() + 1) / 2 * 2) : 0;
  }
  /// Bytes of Workspace::quantized_ and floats of Workspace::row_scales_: 0 unless the model has
  /// int8 weights.
  std::int64_t quantized_size(std::int64_t batch, std::int64_t seq_len) const noexcept {
    return int8_products_ ? batch * seq_len * ((widest_depth() + 3) / 4 * 4) : 0;
  }
  std::int64_t row_scales_size(std::int64_t batch, std::int64_t seq_len) const noexcept {
    return int8_products_ ? batch * seq_len : 0;
  }
  /// The deepest left-hand side of a Linear product.
  std::int64_t widest_depth() const noexcept {
    return std::max({config_.embedding_size, config_.hidden_size, config_.intermediate_size});
  }
  /// Makes `ws`'s arrays hold [batch, seq_len]: grown, or cut from the caller's buffer (an error
  /// when the shape does not fit it).
  Status grow(Workspace& ws, std::int64_t batch, std::int64_t seq_len) const;
  struct Pass; // one forward pass's shapes and buffers, shared with the worker threads

  Encoder() = default;
  /// Copies every Linear weight into the layout its kernel reads (panels for AVX-512 and AVX2, bf16 pairs
  /// for BF16 dot products, int8 quads and column sums for the vectorized int8 kernels, plain floats for a BF16 weight
  /// on the portable kernel; F32 and int8 weights on the portable kernels are read in place):
  /// once, at load, instead of at every product.
  template <class Release>
  Status pack_weights(Release& release);
  /// Calls f on every Linear layer of `self` (projection, each layer's six, classifier), const or not.
  template <class Self, class F>
  static void for_each_dense(Self& self, F&& f) {
    f(self.projection_);
    for (auto& group : self.groups_)
      for (auto& l : group)
        for (auto* d : {&l.query, &l.key, &l.value, &l.dense, &l.ffn, &l.ffn_output}) f(*d);
    f(self.classifier_);
  }
  Status check_shape(std::int64_t batch, std::int64_t seq_len) const;
  Status check_input(const EncoderInput& input) const;
  Result<Pass> begin(const EncoderInput& input, Workspace& ws) const;
  void embed(const EncoderInput& input, Pass& pass) const;
  /// One inner layer of loop iteration `index`: qkv .. ffn_out, each observed.
  void run_layer(const Layer& layer, std::int64_t index, Pass& pass) const;

  ModelConfig config_;
  bool bf16_products_ = false; ///< some DenseF32::packed_bf16 is set
  bool int8_products_ = false; ///< some DenseF32::weight_i8 is set
  detail::WeightMatrix word_embeddings_, position_embeddings_, token_type_embeddings_;
  detail::NormF32 embedding_norm_;
  detail::DenseF32 projection_;
  std::vector<std::vector<Layer>> groups_; ///< [num_hidden_groups][inner_group_num]
  std::vector<std::int64_t> schedule_;     ///< group run at each loop iteration
  detail::DenseF32 classifier_;
  std::shared_ptr<const unsigned char> copies_; ///< owns what pack_weights made; shared by copies
};

template <class Lookup, class Release>
Result<Encoder> Encoder::create(const ModelConfig& config, Lookup&& lookup, Release&& release) {
  ALBERTNER_CHECK(config.validate());
  Encoder e;
  e.config_ = config;
  const detail::WeightSchema schema = detail::weight_schema(config);

  auto dense = [&](const detail::LinearSpec& spec) -> Result<detail::DenseF32> {
    detail::DenseF32 d;
    d.out = spec.weight.shape[0];
    d.in = spec.weight.shape[1];
    ALBERTNER_TRY(const detail::WeightMatrix w, detail::bind_matrix(lookup, spec.weight));
    d.weight = w.f32;
    d.weight_bf16 = w.bf16;
    d.weight_i8 = w.i8;
    d.weight_scale = w.scale;
    if (w.i8) e.int8_products_ = true;
    ALBERTNER_TRY(d.bias, detail::bind_f32(lookup, spec.bias));
    return d;
  };
  auto norm = [&](const detail::NormSpec& spec) -> Result<detail::NormF32> {
    detail::NormF32 n;
    ALBERTNER_TRY(n.gamma, detail::bind_f32(lookup, spec.gamma));
    ALBERTNER_TRY(n.beta, detail::bind_f32(lookup, spec.beta));
    return n;
  };

  ALBERTNER_TRY(e.word_embeddings_, detail::bind_matrix(lookup, schema.word_embeddings));
  ALBERTNER_TRY(e.position_embeddings_, detail::bind_matrix(lookup, schema.position_embeddings));
  ALBERTNER_TRY(e.token_type_embeddings_, detail::bind_matrix(lookup, schema.token_type_embeddings));
  ALBERTNER_TRY(e.embedding_norm_, norm(schema.embedding_norm));
  ALBERTNER_TRY(e.projection_, dense(schema.projection));

  for (const std::vector<detail::LayerSpec>& group : schema.groups) {
    std::vector<Layer> layers;
    for (const detail::LayerSpec& spec : group) {
      Layer l;
      ALBERTNER_TRY(l.query, dense(spec.query));
      ALBERTNER_TRY(l.key, dense(spec.key));
      ALBERTNER_TRY(l.value, dense(spec.value));
      ALBERTNER_TRY(l.dense, dense(spec.dense));
      ALBERTNER_TRY(l.attention_norm, norm(spec.attention_norm));
      ALBERTNER_TRY(l.ffn, dense(spec.ffn));
      ALBERTNER_TRY(l.ffn_output, dense(spec.ffn_output));
      ALBERTNER_TRY(l.output_norm, norm(spec.output_norm));
      layers.push_back(l);
    }
    e.groups_.push_back(std::move(layers));
  }
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::int64_t g = config.group_of_iteration(i);
    // Unreachable for validated configs; checked because a wrong index would read out of bounds.
    if (g < 0 || g >= config.num_hidden_groups)
      return Error(errc::internal, "layer " + std::to_string(i) + " maps to group " + std::to_string(g) +
                                       " but num_hidden_groups = " + std::to_string(config.num_hidden_groups));
    e.schedule_.push_back(g);
  }
  ALBERTNER_TRY(e.classifier_, dense(schema.classifier));
  ALBERTNER_CHECK(e.pack_weights(release));
  return e;
}

template <class Release>
Status Encoder::pack_weights(Release& release) {
  const KernelIsa isa = detail::active_kernel_isa();
  enum class Copy { none, panels, panels_bf16, widened, panels_i8 };
  auto copy_of = [isa](const detail::DenseF32& d) {
    // int8 weights are read where they lie by the portable loop.
    if (d.weight_i8) return detail::packed_int8_kernels() ? Copy::panels_i8 : Copy::none;
    if (isa == KernelIsa::portable) return d.weight_bf16 ? Copy::widened : Copy::none;
    return d.weight_bf16 && isa == KernelIsa::avx512_bf16 ? Copy::panels_bf16 : Copy::panels;
  };
  constexpr std::size_t align = 64; // each copy starts on a cache line
  auto bytes_of = [&](const detail::DenseF32& d) -> std::size_t {
    std::size_t bytes = 0;
    switch (copy_of(d)) {
    case Copy::none: break;
    case Copy::panels: bytes = static_cast<std::size_t>(detail::packed_size(d.out, d.in)) * sizeof(float); break;
    case Copy::panels_bf16:
      bytes = static_cast<std::size_t>(detail::packed_size_bf16(d.out, d.in)) * sizeof(std::uint16_t);
      break;
    case Copy::widened: bytes = static_cast<std::size_t>(d.out * d.in) * sizeof(float); break;
    case Copy::panels_i8: // a multiple of 64 bytes, then the column sums
      bytes = static_cast<std::size_t>(detail::packed_size_i8(d.out, d.in)) +
              static_cast<std::size_t>(detail::packed_size(d.out, 1)) * sizeof(std::int32_t);
      break;
    }
    return (bytes + align - 1) / align * align;
  };
  std::size_t total = 0;
  for_each_dense(*this, [&](const detail::DenseF32& d) { total += bytes_of(d); });
  if (total == 0) return ok_status();
  // Aligned to 2 MiB and advised so that the kernel backs it with huge pages where it can: a
  // few hundred page faults fewer at load, fewer TLB misses in every pass. Not zeroed: packing
  // writes all of it.
  constexpr std::size_t huge_page = std::size_t(1) << 21;
  std::shared_ptr<unsigned char> arena(
      static_cast<unsigned char*>(::operator new (total, std::align_val_t{huge_page}, std::nothrow)),
      [](unsigned char* p) { ::operator delete (p, std::align_val_t{huge_page}); });
  if (!arena)
    return Error(errc::io,
                 "cannot allocate " + std::to_string(total >> 20) + " MiB for the weights in the kernels' layout");
#ifdef MADV_HUGEPAGE
  ::madvise(arena.get(), total, MADV_HUGEPAGE);
#endif
  unsigned char* next = arena.get();
  for_each_dense(*this, [&](detail::DenseF32& d) {
    const Copy copy = copy_of(d);
    if (copy == Copy::none) return;
    const void* file = d.weight_i8     ? static_cast<const void*>(d.weight_i8)
                       : d.weight_bf16 ? static_cast<const void*>(d.weight_bf16)
                                       : static_cast<const void*>(d.weight);
    const std::size_t file_bytes = static_cast<std::size_t>(d.out * d.in) * (d.weight_i8     ? 1
                                                                             : d.weight_bf16 ? sizeof(std::uint16_t)
                                                                                             : sizeof(float));
    if (copy == Copy::panels_i8) {
      auto* out = reinterpret_cast<std::int8_t*>(next);
      auto* colsum = reinterpret_cast<std::int32_t*>(next + detail::packed_size_i8(d.out, d.in));
      detail::pack_panels_i8(d.weight_i8, d.in, d.out, d.in, out, colsum);
      d.packed_i8 = out;
      d.colsum = colsum;
    } else if (copy == Copy::panels_bf16) {
      auto* out = reinterpret_cast<std::uint16_t*>(next);
      detail::pack_panels_bf16(d.weight_bf16, d.in, d.out, d.in, out);
      d.packed_bf16 = out;
      bf16_products_ = true;
    } else if (copy == Copy::panels) {
      auto* out = reinterpret_cast<float*>(next);
      if (d.weight_bf16) detail::pack_panels(d.weight_bf16, d.in, 1, d.out, d.in, out);
      else detail::pack_panels(d.weight, d.in, 1, d.out, d.in, out);
      d.packed = out;
    } else {
      auto* out = reinterpret_cast<float*>(next);
      for (std::int64_t i = 0; i < d.out * d.in; ++i) out[i] = detail::f32_from_bf16(d.weight_bf16[i]);
      d.weight = out;
    }
    next += bytes_of(d);
    release(file, file_bytes);
  });
  copies_ = std::move(arena);
  return ok_status();
}

inline Status Encoder::check_shape(std::int64_t batch, std::int64_t seq_len) const {
  if (batch < 1) return Error(errc::invalid_input, "batch = " + std::to_string(batch) + " must be at least 1");
  if (seq_len < 1 || seq_len > config_.max_position_embeddings)
    return Error(errc::invalid_input, "seq_len = " + std::to_string(seq_len) + " is out of range [1, " +
                                          std::to_string(config_.max_position_embeddings) +
                                          "] (max_position_embeddings)");
  // Keeps every buffer size representable; such a batch could not be allocated anyway.
  const std::int64_t widest =
      std::max({config_.embedding_size, config_.hidden_size, config_.intermediate_size, config_.num_labels(), seq_len});
  if (batch > std::numeric_limits<std::int64_t>::max() / 8 / widest / seq_len)
    return Error(errc::invalid_input,
                 "batch = " + std::to_string(batch) + " with seq_len = " + std::to_string(seq_len) + " is too large");
  return ok_status();
}

inline Status Encoder::check_input(const EncoderInput& in) const {
  ALBERTNER_CHECK(check_shape(in.batch, in.seq_len));
  if (!in.input_ids) return Error(errc::invalid_input, "input_ids is null");
  struct Check {
    const char* name;
    const std::int64_t* values;
    std::int64_t end;
  };
  const Check checks[] = {{"input_ids", in.input_ids, config_.vocab_size},
                          {"token_type_ids", in.token_type_ids, config_.type_vocab_size},
                          {"attention_mask", in.attention_mask, 2}};
  for (const Check& c : checks) {
    if (!c.values) continue;
    for (std::int64_t b = 0; b < in.batch; ++b)
      for (std::int64_t t = 0; t < in.seq_len; ++t) {
        const std::int64_t v = c.values[b * in.seq_len + t];
        if (v < 0 || v >= c.end)
          return Error(errc::invalid_input, std::string(c.name) + " at batch row " + std::to_string(b) + ", position " +
                                                std::to_string(t) + " is " + std::to_string(v) + ", out of range [0, " +
                                                std::to_string(c.end) + ")");
      }
  }
  return ok_status();
}

inline std::array<std::int64_t, 8> Encoder::buffer_sizes(std::int64_t B, std::int64_t T,
                                                         std::size_t threads) const noexcept {
  const std::int64_t rows = B * T, H = config_.hidden_size, parts = static_cast<std::int64_t>(threads);
  // Order of Workspace::buffers(): embedded, hidden, layer, attention, scores, key_bias, operands,
  // logits. Each thread has its own attention scratch.
  return {rows * config_.embedding_size,
          rows * H,
          rows * std::max(4 * H, config_.intermediate_size),
          rows * H,
          parts * detail::attention_scores_size(T),
          rows,
          parts * detail::attention_scratch_size(T, config_.head_dim()),
          rows * config_.num_labels()};
}

inline Status Encoder::grow(Workspace& ws, std::int64_t batch, std::int64_t seq_len) const {
  if (ws.buffer_) {
    const std::size_t needed = workspace_buffer_bytes(batch, seq_len, ws.threads());
    if (needed > ws.buffer_bytes_)
      return Error(errc::invalid_input,
                   "workspace buffer: batch = " + std::to_string(batch) + " with seq_len = " + std::to_string(seq_len) +
                       " on " + std::to_string(ws.threads()) + " thread(s) needs " + std::to_string(needed) +
                       " bytes (workspace_buffer_bytes), the buffer given to use_buffer has " +
                       std::to_string(ws.buffer_bytes_));
    const std::array<std::size_t, 12> bytes = array_bytes(batch, seq_len, ws.threads());
    const auto start = reinterpret_cast<std::uintptr_t>(ws.buffer_);
    unsigned char* at = ws.buffer_ + (detail::scratch_round_up(start) - start);
    std::size_t k = 0;
    auto cut = [&](auto& array) {
      using Element = std::remove_pointer_t<decltype(array.data())>;
      array.lend(reinterpret_cast<Element*>(at), bytes[k] / sizeof(Element));
      at += detail::scratch_round_up(bytes[k++]);
    };
    for (detail::ScratchArray<float>* v : ws.buffers()) cut(*v);
    cut(ws.rounded_);
    cut(ws.quantized_);
    cut(ws.row_scales_);
    cut(ws.lengths_);
    return ok_status();
  }
  const std::array<std::int64_t, 8> sizes = buffer_sizes(batch, seq_len, ws.threads());
  ws.rounded_.grow(static_cast<std::size_t>(rounded_size(batch, seq_len)));
  ws.quantized_.grow(static_cast<std::size_t>(quantized_size(batch, seq_len)));
  ws.row_scales_.grow(static_cast<std::size_t>(row_scales_size(batch, seq_len)));
  const std::array<detail::ScratchArray<float>*, 8> buffers = ws.buffers();
  for (std::size_t i = 0; i < sizes.size(); ++i) buffers[i]->grow(static_cast<std::size_t>(sizes[i]));
  ws.lengths_.grow(static_cast<std::size_t>(batch));
  return ok_status();
}

inline Status Encoder::reserve(Workspace& ws, std::int64_t batch, std::int64_t seq_len) const {
  ALBERTNER_CHECK(check_shape(batch, seq_len));
  return grow(ws, batch, seq_len);
}

inline Status Encoder::use_buffer(Workspace& ws, void* data, std::size_t bytes, std::int64_t max_batch,
                                  std::int64_t max_len) const {
  if (!data) return Error(errc::invalid_input, "use_buffer: the workspace buffer is null");
  Status shape = check_shape(max_batch, max_len);
  if (!shape.ok()) return shape.error().with_context("use_buffer");
  const std::size_t needed = workspace_buffer_bytes(max_batch, max_len, ws.threads());
  if (bytes < needed)
    return Error(errc::invalid_input, "use_buffer: batch = " + std::to_string(max_batch) +
                                          " with seq_len = " + std::to_string(max_len) + " on " +
                                          std::to_string(ws.threads()) + " thread(s) needs " + std::to_string(needed) +
                                          " bytes (workspace_buffer_bytes), the buffer has " + std::to_string(bytes));
  ws.drop_buffer(); // frees the scratch the workspace owned
  ws.buffer_ = static_cast<unsigned char*>(data);
  ws.buffer_bytes_ = bytes;
  return ok_status();
}

/// What the worker threads of one forward pass share: the shapes, the workspace and the current
/// step's products (up to three with the same column split and the same left-hand side: Q, K
/// and V run as one step).
struct Encoder::Pass {
  const Encoder* encoder = nullptr;
  Workspace* ws = nullptr;
  std::int64_t batch = 0, seq_len = 0, rows = 0;
  const std::int64_t* lengths = nullptr; ///< rows computed per sequence; nullptr: all seq_len
  detail::MatmulF32 products[3] = {};
  int count = 0;

  void run_products(std::initializer_list<const detail::MatmulF32*> list) {
    count = 0;
    for (const detail::MatmulF32* m : list) products[count++] = *m;
    // Over bf16 weights the shared left-hand side is rounded to bf16 once, for every product.
    if (products[0].packed_bf16) {
      round_operand(products[0]);
      for (int i = 1; i < count; ++i) {
        products[i].a_bf16 = products[0].a_bf16;
        products[i].lda_bf16 = products[0].lda_bf16;
      }
    }
    // Over int8 weights it is quantized once.
    if (products[0].w_i8) {
      quantize_operand(products[0]);
      for (int i = 1; i < count; ++i) {
        products[i].a_u8 = products[0].a_u8;
        products[i].lda_u8 = products[0].lda_u8;
        products[i].a_scale = products[0].a_scale;
      }
    }
    // Split only what is worth it: a small product costs less on one thread than the handshake.
    std::int64_t work = 0, cols = 0;
    for (int i = 0; i < count; ++i) {
      work += products[i].rows * products[i].cols * products[i].depth;
      cols = std::max(cols, products[i].cols);
    }
    const std::size_t threads = ws->threads();
    if (threads == 1 || work < detail::kParallelMinWork) return products_part(this, 0, 1, 0);
    // Several parts a thread (whole pairs of panels each), so that a late helper leaves little.
    const auto units = static_cast<std::size_t>((cols + 2 * detail::kPanelWidth - 1) / (2 * detail::kPanelWidth));
    ws->run(&Pass::products_part, this, std::min(units, 4 * threads));
  }
  /// m.a_u8 and m.a_scale = m.a quantized per row into the workspace, the rows computed only.
  void quantize_operand(detail::MatmulF32& m) const {
    m.lda_u8 = (m.depth + 3) / 4 * 4;
    m.a_u8 = ws->quantized_.data();
    m.a_scale = ws->row_scales_.data();
    if (!lengths)
      return detail::quantize_rows_u8(m.a, rows, m.depth, m.lda, ws->quantized_.data(), m.lda_u8,
                                      ws->row_scales_.data());
    for (std::int64_t b = 0; b < batch; ++b)
      detail::quantize_rows_u8(m.a + b * seq_len * m.lda, lengths[b], m.depth, m.lda,
                               ws->quantized_.data() + b * seq_len * m.lda_u8, m.lda_u8,
                               ws->row_scales_.data() + b * seq_len);
  }
  /// m.a_bf16 = m.a rounded to bf16 in Workspace::rounded_, the rows computed only.
  void round_operand(detail::MatmulF32& m) const {
    m.lda_bf16 = (m.depth + 1) / 2 * 2;
    m.a_bf16 = ws->rounded_.data();
    if (!lengths) return detail::round_rows_bf16(m.a, rows, m.depth, m.lda, ws->rounded_.data(), m.lda_bf16);
    for (std::int64_t b = 0; b < batch; ++b)
      detail::round_rows_bf16(m.a + b * seq_len * m.lda, lengths[b], m.depth, m.lda,
                              ws->rounded_.data() + b * seq_len * m.lda_bf16, m.lda_bf16);
  }
  static void products_part(void* self, std::size_t part, std::size_t parts, std::size_t) {
    const Pass& p = *static_cast<const Pass*>(self);
    for (int i = 0; i < p.count; ++i) {
      const auto range = detail::column_share(p.products[i].cols, part, parts);
      if (range.first >= range.second) continue;
      if (!p.lengths) {
        detail::matmul(p.products[i], range.first, range.second);
        continue;
      }
      for (std::int64_t b = 0; b < p.batch; ++b) { // each sequence's real rows only
        detail::MatmulF32 m = p.products[i];
        const std::int64_t r0 = b * p.seq_len;
        m.a += r0 * m.lda;
        if (m.a_bf16) m.a_bf16 += r0 * m.lda_bf16;
        if (m.a_u8) {
          m.a_u8 += r0 * m.lda_u8;
          m.a_scale += r0;
        }
        m.c += r0 * m.ldc;
        if (m.residual) m.residual += r0 * m.ldr;
        m.rows = p.lengths[b];
        if (m.rows > 0) detail::matmul(m, range.first, range.second);
      }
    }
  }
  /// LayerNorm of the rows computed.
  void layer_norm(float* x, std::int64_t cols, const detail::NormF32& norm, double eps) const {
    if (!lengths) return detail::layer_norm_rows(x, rows, cols, norm.gamma, norm.beta, eps);
    for (std::int64_t b = 0; b < batch; ++b)
      detail::layer_norm_rows(x + b * seq_len * cols, lengths[b], cols, norm.gamma, norm.beta, eps);
  }
  StageObserver observer; ///< forward()'s

  /// Tells the observer, if any, that `stage` is done: [data_rows, cols] at `data`.
  void observe(Stage stage, std::int64_t index, const float* data, std::int64_t data_rows, std::int64_t cols) const {
    if (observer.callback) observer.callback(observer.user, stage, index, data, data_rows, cols);
  }

  // The four [rows, H] parts of Workspace::layer_.
  float* query() const { return ws->layer_.data(); }
  float* key() const { return query() + rows * encoder->config_.hidden_size; }
  float* value() const { return key() + rows * encoder->config_.hidden_size; }
  float* context() const { return value() + rows * encoder->config_.hidden_size; }

  /// Part `part` of `parts` of every head's attention, in slot `slot`'s scratch.
  static void attention_part(void* self, std::size_t part, std::size_t parts, std::size_t slot) {
    const Pass& p = *static_cast<const Pass*>(self);
    const ModelConfig& c = p.encoder->config_;
    Workspace& ws = *p.ws;
    const auto k = static_cast<std::int64_t>(slot);
    detail::self_attention(p.query(), p.key(), p.value(), ws.key_bias_.data(), p.batch, p.seq_len,
                           c.num_attention_heads, c.head_dim(), p.context(),
                           ws.scores_.data() + k * detail::attention_scores_size(p.seq_len),
                           ws.operands_.data() + k * detail::attention_scratch_size(p.seq_len, c.head_dim()), p.lengths,
                           static_cast<std::int64_t>(part), static_cast<std::int64_t>(parts));
  }
  void run_attention() {
    const ModelConfig& c = encoder->config_;
    const std::int64_t pairs = batch * c.num_attention_heads;
    // Scores and context: 2 * T * T * head_dim multiply-adds per (sequence, head), at most.
    const std::int64_t work = pairs * 2 * seq_len * seq_len * c.head_dim();
    const std::size_t threads = ws->threads();
    if (threads == 1 || work < detail::kParallelMinWork) return attention_part(this, 0, 1, 0);
    ws->run(&Pass::attention_part, this, static_cast<std::size_t>(pairs));
  }
};

inline void Encoder::run_layer(const Layer& layer, std::int64_t index, Pass& pass) const {
  const std::int64_t H = config_.hidden_size, rows = pass.rows;
  Workspace& ws = *pass.ws;
  float* hidden = ws.hidden_.data();
  float* attention = ws.attention_.data();
  float* intermediate = ws.layer_.data(); // query .. context are dead once attention_ is written
  const detail::MatmulF32 query = detail::linear_product(layer.query, hidden, rows, pass.query());
  const detail::MatmulF32 key = detail::linear_product(layer.key, hidden, rows, pass.key());
  const detail::MatmulF32 value = detail::linear_product(layer.value, hidden, rows, pass.value());
  pass.run_products({&query, &key, &value});
  pass.observe(Stage::qkv, index, pass.query(), 3 * rows, H);

  pass.run_attention();
  pass.observe(Stage::attention, index, pass.context(), rows, H);

  const detail::MatmulF32 dense = detail::linear_product(layer.dense, pass.context(), rows, attention, nullptr, hidden);
  pass.run_products({&dense});
  pass.layer_norm(attention, H, layer.attention_norm, config_.layer_norm_eps);
  pass.observe(Stage::attention_output, index, attention, rows, H);

  const detail::MatmulF32 ffn = detail::linear_product(layer.ffn, attention, rows, intermediate, &config_.hidden_act);
  pass.run_products({&ffn});
  pass.observe(Stage::ffn_in, index, intermediate, rows, config_.intermediate_size);

  // The residual lives in `attention`, so the layer's output may overwrite its input.
  const detail::MatmulF32 ffn_output =
      detail::linear_product(layer.ffn_output, intermediate, rows, hidden, nullptr, attention);
  pass.run_products({&ffn_output});
  pass.layer_norm(hidden, H, layer.output_norm, config_.layer_norm_eps);
  pass.observe(Stage::ffn_out, index, hidden, rows, H);
}

inline Result<Encoder::Pass> Encoder::begin(const EncoderInput& input, Workspace& ws) const {
  ALBERTNER_CHECK(grow(ws, input.batch, input.seq_len));
  Pass pass;
  pass.encoder = this;
  pass.ws = &ws;
  pass.batch = input.batch;
  pass.seq_len = input.seq_len;
  pass.rows = input.batch * input.seq_len;
  if (input.skip_padding && input.attention_mask) {
    bool padded = false;
    for (std::int64_t b = 0; b < input.batch; ++b) {
      std::int64_t length = input.seq_len;
      while (length > 0 && input.attention_mask[b * input.seq_len + length - 1] == 0) --length;
      ws.lengths_.data()[b] = length;
      padded = padded || length < input.seq_len;
    }
    if (padded) pass.lengths = ws.lengths_.data();
  }
  return pass;
}

inline void Encoder::embed(const EncoderInput& input, Pass& pass) const {
  const std::int64_t B = pass.batch, T = pass.seq_len, E = config_.embedding_size;
  float* embedded = pass.ws->embedded_.data();
  // word + token type, then + position (HF's order); positions restart at 0 in every row.
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t) {
      const std::int64_t r = b * T + t;
      if (pass.lengths && t >= pass.lengths[b]) {
        // Skipped padding: 0 in the embeddings, the hidden state and the logits (the output and
        // the stages StageObserver promises 0 in); the products and LayerNorms never write these rows.
        std::fill(embedded + r * E, embedded + (r + 1) * E, 0.0f);
        float* hidden = pass.ws->hidden_.data() + r * config_.hidden_size;
        std::fill(hidden, hidden + config_.hidden_size, 0.0f);
        float* logits = pass.ws->logits_.data() + r * config_.num_labels();
        std::fill(logits, logits + config_.num_labels(), 0.0f);
        continue;
      }
      const std::int64_t type = input.token_type_ids ? input.token_type_ids[r] : 0;
      const std::int64_t word = input.input_ids[r] * E, token_type = type * E, position = t * E;
      float* out = embedded + r * E;
      for (std::int64_t c = 0; c < E; ++c)
        out[c] =
            (word_embeddings_[word + c] + token_type_embeddings_[token_type + c]) + position_embeddings_[position + c];
    }
  pass.layer_norm(embedded, E, embedding_norm_, config_.layer_norm_eps);
  // HF adds (1 - mask) * finfo(float32).min to the scores of padded keys.
  float* key_bias = pass.ws->key_bias_.data();
  for (std::int64_t r = 0; r < pass.rows; ++r)
    key_bias[r] = input.attention_mask && input.attention_mask[r] == 0 ? std::numeric_limits<float>::lowest() : 0.0f;
}

inline Result<EncoderOutput> Encoder::forward(const EncoderInput& input, Workspace& ws, StageObserver observer) const {
  ALBERTNER_CHECK(check_input(input));
  ALBERTNER_TRY(Pass pass, begin(input, ws));
  pass.observer = observer;
  const std::int64_t H = config_.hidden_size;
  embed(input, pass);
  pass.observe(Stage::embeddings, 0, ws.embedded_.data(), pass.rows, config_.embedding_size);
  const detail::MatmulF32 projection =
      detail::linear_product(projection_, ws.embedded_.data(), pass.rows, ws.hidden_.data());
  pass.run_products({&projection});
  pass.observe(Stage::projection, 0, ws.hidden_.data(), pass.rows, H);
  for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    for (const Layer& layer : groups_[static_cast<std::size_t>(schedule_[static_cast<std::size_t>(i)])])
      run_layer(layer, i, pass);
    pass.observe(Stage::layer, i, ws.hidden_.data(), pass.rows, H);
  }
  const detail::MatmulF32 head = detail::linear_product(classifier_, ws.hidden_.data(), pass.rows, ws.logits_.data());
  pass.run_products({&head});
  pass.observe(Stage::head, 0, ws.logits_.data(), pass.rows, config_.num_labels());

  EncoderOutput out;
  out.batch = input.batch;
  out.seq_len = input.seq_len;
  out.hidden_size = H;
  out.num_labels = config_.num_labels();
  out.logits = ws.logits_.data();
  out.last_hidden_state = ws.hidden_.data();
  return out;
}

} // namespace albertner
