// The definitions of Tagger<Decoder>'s members (see tagger.hpp). Included by tagger.hpp unless
// ALBERTNER_DECLARATIONS_ONLY is defined without ALBERTNER_IMPLEMENTATION.
#pragma once

#include "../encoder/encoder.hpp"
#include "../model/model.hpp"
#include "../status.hpp"
#include "../text/tokenizer.hpp"
#include "span_decoder.hpp"
#include "tagger.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace albertner {

/// A workspace and the padded ids and mask of the group it runs.
template <class Decoder>
struct Tagger<Decoder>::Slot {
  Encoder::Workspace workspace;
  std::vector<std::int64_t> ids, mask;
  Status grow(const State& s, std::int64_t batch, std::int64_t seq_len) {
    const auto n = static_cast<std::size_t>(batch * seq_len);
    if (ids.size() < n) ids.resize(n);
    if (mask.size() < n) mask.resize(n);
    return s.encoder.reserve(workspace, batch, seq_len);
  }
};

/// What copies of a Tagger share: the model, the threads, the free workspaces.
template <class Decoder>
struct Tagger<Decoder>::State {
  State(Model m, Tokenizer t, Encoder e, TaggerOptions o)
      : model(std::move(m)), tokenizer(std::move(t)), encoder(std::move(e)), options(std::move(o)) {}
  Status start() {
    ALBERTNER_CHECK(primary.set_threads(options.threads));
    pool = primary.pool_;
    if (!pool) pool = std::make_shared<detail::WorkerPool>(); // 1 thread: every step on the caller
    return ok_status();
  }
  Model model; // the encoder's weights point into its mapping
  Tokenizer tokenizer;
  Encoder encoder;
  TaggerOptions options;
  Encoder::Workspace primary; // owns the pool that every slot's workspace shares
  std::shared_ptr<detail::WorkerPool> pool;
  mutable detail::Mutex mutex; // guards `free`
  mutable std::vector<std::unique_ptr<Slot>> free;
};

/// A slot borrowed from State::free (or made) for one caller, given back at the end of the call.
template <class Decoder>
class Tagger<Decoder>::Lease {
public:
  explicit Lease(const State& s) : state_(&s) {
    s.mutex.lock();
    if (!s.free.empty()) {
      slot_ = std::move(s.free.back());
      s.free.pop_back();
    }
    s.mutex.unlock();
    if (!slot_) {
      slot_.reset(new (std::nothrow) Slot());
      if (slot_) slot_->workspace.share_threads_with(s.primary);
    }
  }
  Lease(Lease&& other) noexcept : state_(other.state_), slot_(std::move(other.slot_)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (!slot_) return;
    state_->mutex.lock();
    state_->free.push_back(std::move(slot_));
    state_->mutex.unlock();
  }
  Slot* operator->() const noexcept { return slot_.get(); }
  Slot& operator*() const noexcept { return *slot_; }
  explicit operator bool() const noexcept { return slot_ != nullptr; }

private:
  const State* state_;
  std::unique_ptr<Slot> slot_;
};

template <class Decoder>
struct Tagger<Decoder>::Job {
  std::size_t text, window, length;
};
template <class Decoder>
struct Tagger<Decoder>::Group {
  std::size_t begin, end;
  Status status = ok_status();
};
/// One document_logits call: its plan, its results, the slots its threads borrowed.
template <class Decoder>
struct Tagger<Decoder>::Run {
  Run(const State& s, const std::vector<Encoding>& e)
      : state(s), encodings(e), windows(e.size()), window_logits(e.size()), slots(s.pool->threads()) {}
  const State& state;
  const std::vector<Encoding>& encodings;
  std::vector<std::vector<Window>> windows;
  std::vector<Job> jobs;
  std::vector<Group> groups;
  std::vector<std::vector<std::vector<float>>> window_logits; // [text][window] -> [length][labels]
  std::vector<std::optional<Lease>> slots;                    // one per thread slot, borrowed when first used

  static void group_part(void* self, std::size_t part, std::size_t, std::size_t slot) {
    Run& run = *static_cast<Run*>(self);
    std::optional<Lease>& lease = run.slots[slot]; // only this slot's thread touches it
    if (!lease) lease.emplace(run.state);
    Group& g = run.groups[part];
    if (!*lease) g.status = Error(errc::internal, "out of memory for an encoder workspace");
    else g.status = run.run_group(g, **lease);
  }

  Status run_group(const Group& g, Slot& slot) {
    const std::size_t B = g.end - g.begin, Tlen = jobs[g.begin].length; // longest first
    ALBERTNER_CHECK(slot.grow(state, static_cast<std::int64_t>(B), static_cast<std::int64_t>(Tlen)));
    const Tokenizer& tok = state.tokenizer;
    std::fill(slot.ids.begin(), slot.ids.begin() + static_cast<std::ptrdiff_t>(B * Tlen), tok.pad_id());
    std::fill(slot.mask.begin(), slot.mask.begin() + static_cast<std::ptrdiff_t>(B * Tlen), 0);
    for (std::size_t b = 0; b < B; ++b) {
      const Job& job = jobs[g.begin + b];
      const Encoding& e = encodings[job.text];
      const Window& w = windows[job.text][job.window];
      std::int64_t* row = slot.ids.data() + b * Tlen;
      row[0] = tok.cls_id();
      for (std::size_t t = w.begin; t < w.end; ++t) row[t - w.begin + 1] = e.ids[t + 1];
      row[job.length - 1] = tok.sep_id();
      std::fill(slot.mask.begin() + static_cast<std::ptrdiff_t>(b * Tlen),
                slot.mask.begin() + static_cast<std::ptrdiff_t>(b * Tlen + job.length), 1);
    }
    EncoderInput input;
    input.batch = static_cast<std::int64_t>(B);
    input.seq_len = static_cast<std::int64_t>(Tlen);
    input.input_ids = slot.ids.data();
    input.attention_mask = slot.mask.data();
    input.skip_padding = true; // only window rows are read back
    ALBERTNER_TRY(EncoderOutput out, state.encoder.forward(input, slot.workspace));
    const std::size_t L = static_cast<std::size_t>(out.num_labels);
    for (std::size_t b = 0; b < B; ++b) {
      const Job& job = jobs[g.begin + b];
      const float* src = out.logits + b * Tlen * L;
      window_logits[job.text][job.window].assign(src, src + job.length * L);
    }
    return ok_status();
  }
};

template <class Decoder>
Result<Tagger<Decoder>> Tagger<Decoder>::open(const std::string& path, TaggerOptions options) {
  ALBERTNER_TRY(Model model, Model::open(path));
  auto tagger = from_model(std::move(model), std::move(options));
  if (!tagger.ok()) return tagger.error().with_context(path);
  return tagger;
}

template <class Decoder>
Result<Tagger<Decoder>> Tagger<Decoder>::from_buffer(const void* data, std::size_t size, TaggerOptions options) {
  ALBERTNER_TRY(Model model, Model::from_buffer(data, size));
  return from_model(std::move(model), std::move(options));
}

template <class Decoder>
Result<Tagger<Decoder>> Tagger<Decoder>::from_model(Model model, TaggerOptions options) {
  const std::size_t limit = static_cast<std::size_t>(
      std::min(model.config().max_position_embeddings, model.tokenizer_options().model_max_length));
  if (!options.aggregation) options.aggregation = default_aggregation(model);
  if (options.window == 0) options.window = limit;
  if (options.overlap == TaggerOptions::auto_size) options.overlap = options.window / 4;
  if (options.window > limit)
    return Error(errc::invalid_input, "window " + std::to_string(options.window) + " exceeds the model's " +
                                          std::to_string(limit) + " positions");
  ALBERTNER_CHECK(plan_windows(0, WindowOptions{options.window, options.overlap}));
  if (options.batch_size == 0) return Error(errc::invalid_input, "batch_size must be at least 1");
  if (options.threads == 0) return Error(errc::invalid_input, "threads must be at least 1");
  if (options.threads > detail::kMaxThreads)
    return Error(errc::invalid_input,
                 "threads " + std::to_string(options.threads) + " is more than " + std::to_string(detail::kMaxThreads));
  ALBERTNER_TRY(Tokenizer tokenizer, make_tokenizer(model));
  ALBERTNER_TRY(Encoder encoder, make_encoder(model));
  auto state = std::make_shared<State>(std::move(model), std::move(tokenizer), std::move(encoder), std::move(options));
  ALBERTNER_CHECK(state->start());
  Tagger t;
  t.state_ = std::move(state);
  return t;
}

template <class Decoder>
const Model& Tagger<Decoder>::model() const noexcept {
  return state_->model;
}

template <class Decoder>
const Tokenizer& Tagger<Decoder>::tokenizer() const noexcept {
  return state_->tokenizer;
}

template <class Decoder>
const Encoder& Tagger<Decoder>::encoder() const noexcept {
  return state_->encoder;
}

template <class Decoder>
const TaggerOptions& Tagger<Decoder>::options() const noexcept {
  return state_->options;
}

template <class Decoder>
const std::vector<std::string>& Tagger<Decoder>::labels() const noexcept {
  return state_->model.config().labels;
}

template <class Decoder>
Result<std::vector<Entity>> Tagger<Decoder>::tag(const std::string& text, const CallOptions& call) const {
  ALBERTNER_TRY(auto all, tag_batch(std::vector<std::string>{text}, call));
  return std::move(all.front());
}

template <class Decoder>
Result<std::vector<std::vector<Entity>>> Tagger<Decoder>::tag_batch(const std::vector<std::string>& texts,
                                                                    const CallOptions& call) const {
  ALBERTNER_CHECK(check_model());
  const State& s = *state_;
  std::vector<Encoding> encodings;
  encodings.reserve(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto e = s.tokenizer.encode(texts[i]);
    if (!e.ok()) return e.error().with_context("text " + std::to_string(i));
    encodings.push_back(std::move(e).value());
  }
  ALBERTNER_TRY(std::vector<std::vector<float>> logits, document_logits(encodings));
  std::vector<std::vector<Entity>> out(texts.size());
  DecodeOptions decode{call.aggregation.value_or(*s.options.aggregation),
                       call.ignore_labels.value_or(s.options.ignore_labels), s.tokenizer.unk_id(),
                       call.constrained.value_or(s.options.constrained)};
  const Decoder decoder{};
  for (std::size_t i = 0; i < texts.size(); ++i) {
    Result<std::vector<Entity>> entities =
        decoder.decode(texts[i], token_infos(encodings[i]), logits[i].data(),
                       static_cast<std::size_t>(s.model.config().num_labels()), labels(), decode);
    if (!entities.ok()) return entities.error().with_context("text " + std::to_string(i));
    out[i] = std::move(entities).value();
  }
  return out;
}

template <class Decoder>
Result<std::vector<std::vector<float>>> Tagger<Decoder>::document_logits(const std::vector<Encoding>& encodings) const {
  ALBERTNER_CHECK(check_model());
  const State& s = *state_;
  const std::size_t L = static_cast<std::size_t>(s.model.config().num_labels());
  Run run(s, encodings);
  std::vector<std::vector<float>> logits(encodings.size());
  for (std::size_t i = 0; i < encodings.size(); ++i) {
    const std::size_t content = encodings[i].size() >= 2 ? encodings[i].size() - 2 : 0;
    ALBERTNER_TRY(run.windows[i], plan_windows(content, WindowOptions{s.options.window, s.options.overlap}));
    logits[i].assign(encodings[i].size() * L, 0.0f);
    run.window_logits[i].resize(run.windows[i].size());
    for (std::size_t w = 0; w < run.windows[i].size(); ++w)
      run.jobs.push_back(Job{i, w, run.windows[i][w].end - run.windows[i][w].begin + 2});
  }
  // Longest first, so that each group pads little and the slowest groups start early.
  std::stable_sort(run.jobs.begin(), run.jobs.end(), [](const Job& a, const Job& b) { return a.length > b.length; });
  for (std::size_t j = 0; j < run.jobs.size(); j += s.options.batch_size)
    run.groups.push_back(Group{j, std::min(run.jobs.size(), j + s.options.batch_size)});

  // Several groups: the groups are the parts (each slot with its own workspace, its passes on
  // one thread). One group: its encoder pass shares its steps among the threads.
  if (run.groups.size() > 1) s.pool->run(&Run::group_part, &run, run.groups.size());
  else if (!run.groups.empty()) Run::group_part(&run, 0, 1, 0);
  for (const Group& g : run.groups) ALBERTNER_CHECK(g.status);

  for (std::size_t i = 0; i < encodings.size(); ++i) {
    const std::size_t content = encodings[i].size() >= 2 ? encodings[i].size() - 2 : 0;
    std::vector<std::size_t> owner = assign_tokens_to_windows(run.windows[i], content);
    for (std::size_t t = 0; t < content; ++t) {
      const Window& w = run.windows[i][owner[t]];
      const float* row = run.window_logits[i][owner[t]].data() + (t - w.begin + 1) * L;
      std::memcpy(logits[i].data() + (t + 1) * L, row, L * sizeof(float));
    }
  }
  return logits;
}

template <class Decoder>
std::vector<TokenInfo> Tagger<Decoder>::token_infos(const Encoding& e) const {
  std::vector<TokenInfo> infos(e.size());
  if (!state_) return infos;
  for (std::size_t k = 0; k < e.size(); ++k) {
    TokenInfo& t = infos[k];
    t.id = e.ids[k];
    t.piece = state_->tokenizer.id_to_piece(e.ids[k]);
    t.start = e.offsets[k].first;
    t.end = e.offsets[k].second;
    t.byte_start = e.byte_offsets[k].first;
    t.byte_end = e.byte_offsets[k].second;
    t.special = e.special_tokens_mask[k] != 0;
  }
  return infos;
}

template <class Decoder>
Status Tagger<Decoder>::reserve(std::size_t concurrency, std::int64_t seq_len) const {
  ALBERTNER_CHECK(check_model());
  const State& s = *state_;
  std::vector<Lease> leases;
  for (std::size_t k = 0; k < concurrency * s.options.threads; ++k) {
    leases.emplace_back(s);
    if (!leases.back()) return Error(errc::internal, "out of memory for an encoder workspace");
    ALBERTNER_CHECK(leases.back()->grow(s, static_cast<std::int64_t>(s.options.batch_size), seq_len));
  }
  return ok_status();
}

template <class Decoder>
Aggregation Tagger<Decoder>::default_aggregation(const Model& model) {
  return model.recommended_aggregation().value_or(Aggregation::simple);
}

template <class Decoder>
Status Tagger<Decoder>::check_model() const {
  if (!state_)
    return Error(errc::invalid_input, "this Tagger holds no model (default-constructed or moved-from): open one first");
  return ok_status();
}

} // namespace albertner
