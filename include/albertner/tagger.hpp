// Tagger<T>: UTF-8 text in, entities out. Tokenizes, splits long documents into overlapping
// windows, runs length-sorted batches through the encoder and decodes spans.
#pragma once

#include "encoder.hpp"
#include "model.hpp"
#include "span_decoder.hpp"
#include "status.hpp"
#include "tokenizer.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <pthread.h>

namespace albertner {

struct TaggerOptions {
  static constexpr std::size_t auto_size = static_cast<std::size_t>(-1);
  Aggregation aggregation = Aggregation::simple;
  /// Entities with these labels (or group labels) are dropped.
  std::vector<std::string> ignore_labels = {"O"};
  /// Model positions per window including [CLS]/[SEP]; 0 = the model's limit
  /// (min of model_max_length and max_position_embeddings).
  std::size_t window = 0;
  /// Content tokens shared by consecutive windows of a long document; `auto_size`: window / 4
  /// (128 for 512 positions).
  std::size_t overlap = auto_size;
  /// Sequences run through the encoder together (padded to the longest in the group).
  std::size_t batch_size = 8;
  /// Threads in all, the calling one included (1 = it alone). Groups of sequences are shared
  /// out first, each worker with its own workspace; when there are fewer groups than threads
  /// (one short text, say), each worker's encoder passes use the spare threads inside. Never
  /// more threads than this run at once.
  std::size_t threads = 1;
};

/// Text → entities with one model. T is the encoder's arithmetic type (float, the only one); the
/// weights' storage comes from the model file: F32, or BF16 (`convert --dtype bf16`), which runs
/// BF16 dot products where the CPU has them.
/// A Tagger is not safe to use from several threads at once; tag_batch parallelizes internally.
template <class T = float>
class Tagger {
public:
  static Result<Tagger> open(const std::string& path, TaggerOptions options = {}) {
    ALBERTNER_TRY(Model model, Model::open(path));
    auto tagger = from_model(std::move(model), std::move(options));
    if (!tagger.ok()) return tagger.error().with_context(path);
    return tagger;
  }
  /// From model-file bytes the caller keeps alive for the Tagger's lifetime.
  static Result<Tagger> from_buffer(const void* data, std::size_t size, TaggerOptions options = {}) {
    ALBERTNER_TRY(Model model, Model::from_buffer(data, size));
    return from_model(std::move(model), std::move(options));
  }
  static Result<Tagger> from_model(Model model, TaggerOptions options = {}) {
    ALBERTNER_TRY(Tokenizer tokenizer, make_tokenizer(model));
    ALBERTNER_TRY(Encoder<T> encoder, make_encoder<T>(model));
    const std::size_t limit = static_cast<std::size_t>(
        std::min(model.config().max_position_embeddings, model.tokenizer_options().model_max_length));
    if (options.window == 0) options.window = limit;
    if (options.overlap == TaggerOptions::auto_size) options.overlap = options.window / 4;
    if (options.window > limit)
      return Error(errc::invalid_input, "window " + std::to_string(options.window) + " exceeds the model's " +
                                            std::to_string(limit) + " positions");
    ALBERTNER_CHECK(plan_windows(0, WindowOptions{options.window, options.overlap}));
    if (options.batch_size == 0) return Error(errc::invalid_input, "batch_size must be at least 1");
    if (options.threads == 0) return Error(errc::invalid_input, "threads must be at least 1");
    Tagger t(std::move(model), std::move(tokenizer), std::move(encoder), std::move(options));
    return t;
  }

  const Model& model() const noexcept { return model_; }
  const Tokenizer& tokenizer() const noexcept { return tokenizer_; }
  const Encoder<T>& encoder() const noexcept { return encoder_; }
  const TaggerOptions& options() const noexcept { return options_; }
  const std::vector<std::string>& labels() const noexcept { return model_.config().labels; }

  /// Entities of one text (offsets into `text`). Long texts are windowed, never truncated.
  Result<std::vector<Entity>> tag(const std::string& text) {
    ALBERTNER_TRY(auto all, tag_batch(std::vector<std::string>{text}));
    return std::move(all.front());
  }

  /// Entities of many texts, in input order. The first failing text fails the whole call.
  Result<std::vector<std::vector<Entity>>> tag_batch(const std::vector<std::string>& texts) {
    std::vector<Encoding> encodings;
    encodings.reserve(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      auto e = tokenizer_.encode(texts[i]);
      if (!e.ok()) return e.error().with_context("text " + std::to_string(i));
      encodings.push_back(std::move(e).value());
    }
    ALBERTNER_TRY(std::vector<std::vector<float>> logits, document_logits(encodings));
    std::vector<std::vector<Entity>> out(texts.size());
    DecodeOptions decode{options_.aggregation, options_.ignore_labels, tokenizer_.unk_id()};
    for (std::size_t i = 0; i < texts.size(); ++i) {
      auto entities = decode_entities(texts[i], token_infos(encodings[i]), logits[i].data(),
                                      static_cast<std::size_t>(model_.config().num_labels()), labels(), decode);
      if (!entities.ok()) return entities.error().with_context("text " + std::to_string(i));
      out[i] = std::move(entities).value();
    }
    return out;
  }

  /// Logits [tokens][labels] for each encoding (its [CLS] and [SEP] rows included), stitched
  /// from the windows of long documents; each token's row comes from the window in which it
  /// sits most centrally.
  Result<std::vector<std::vector<float>>> document_logits(const std::vector<Encoding>& encodings) {
    const std::size_t L = static_cast<std::size_t>(model_.config().num_labels());
    std::vector<Job> jobs;
    std::vector<std::vector<float>> logits(encodings.size());
    std::vector<std::vector<Window>> windows(encodings.size());
    for (std::size_t i = 0; i < encodings.size(); ++i) {
      const std::size_t content = encodings[i].size() >= 2 ? encodings[i].size() - 2 : 0;
      ALBERTNER_TRY(windows[i], plan_windows(content, WindowOptions{options_.window, options_.overlap}));
      logits[i].assign(encodings[i].size() * L, 0.0f);
      for (std::size_t w = 0; w < windows[i].size(); ++w)
        jobs.push_back(Job{i, w, windows[i][w].end - windows[i][w].begin + 2});
    }
    // Longest first, so that each group pads little and the slowest groups start early.
    std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.length > b.length; });
    std::vector<Group> groups;
    for (std::size_t j = 0; j < jobs.size(); j += options_.batch_size)
      groups.push_back(Group{j, std::min(jobs.size(), j + options_.batch_size)});

    Run run{this, &encodings, &windows, &jobs, &groups, L};
    ALBERTNER_CHECK(run_groups(run));
    for (Group& g : groups) ALBERTNER_CHECK(g.status);

    for (std::size_t i = 0; i < encodings.size(); ++i) {
      const std::size_t content = encodings[i].size() >= 2 ? encodings[i].size() - 2 : 0;
      std::vector<std::size_t> owner = assign_tokens_to_windows(windows[i], content);
      for (std::size_t t = 0; t < content; ++t) {
        const Window& w = windows[i][owner[t]];
        const float* row = window_logits_[i][owner[t]].data() + (t - w.begin + 1) * L;
        std::memcpy(logits[i].data() + (t + 1) * L, row, L * sizeof(float));
      }
    }
    window_logits_.clear();
    return logits;
  }

  /// What decode_entities needs to know of each token.
  std::vector<TokenInfo> token_infos(const Encoding& e) const {
    std::vector<TokenInfo> infos(e.size());
    for (std::size_t k = 0; k < e.size(); ++k) {
      TokenInfo& t = infos[k];
      t.id = e.ids[k];
      t.piece = tokenizer_.id_to_piece(e.ids[k]);
      t.start = e.offsets[k].first;
      t.end = e.offsets[k].second;
      t.byte_start = e.byte_offsets[k].first;
      t.byte_end = e.byte_offsets[k].second;
      t.special = e.special_tokens_mask[k] != 0;
    }
    return infos;
  }

private:
  struct Job {
    std::size_t text, window, length;
  };
  struct Group {
    std::size_t begin, end;
    Status status = ok_status();
  };
  struct Run {
    Tagger* tagger;
    const std::vector<Encoding>* encodings;
    const std::vector<std::vector<Window>>* windows;
    const std::vector<Job>* jobs;
    std::vector<Group>* groups;
    std::size_t num_labels;
  };
  struct Worker {
    Run* run;
    std::size_t first, stride;
    typename Encoder<T>::Workspace* workspace;
  };

  Tagger(Model model, Tokenizer tokenizer, Encoder<T> encoder, TaggerOptions options)
      : model_(std::move(model)),
        tokenizer_(std::move(tokenizer)),
        encoder_(std::move(encoder)),
        options_(std::move(options)) {}

  // Runs every group; worker k takes groups k, k + threads, ... with its own workspace, whose
  // encoder passes get the threads the workers leave over.
  Status run_groups(Run& run) {
    window_logits_.assign(run.encodings->size(), {});
    for (std::size_t i = 0; i < run.encodings->size(); ++i) window_logits_[i].resize((*run.windows)[i].size());
    const std::size_t threads = std::max<std::size_t>(1, std::min(options_.threads, run.groups->size()));
    const std::size_t inner = std::max<std::size_t>(1, options_.threads / threads);
    while (workspaces_.size() < threads) workspaces_.emplace_back(new typename Encoder<T>::Workspace());
    for (std::size_t k = 0; k < threads; ++k)
      if (workspaces_[k]->threads() != inner) ALBERTNER_CHECK(workspaces_[k]->set_threads(inner));
    std::vector<Worker> workers(threads);
    for (std::size_t k = 0; k < threads; ++k) workers[k] = Worker{&run, k, threads, workspaces_[k].get()};
    std::vector<pthread_t> handles;
    std::vector<std::size_t> on_caller = {0}; // workers whose thread could not be started run here
    for (std::size_t k = 1; k < threads; ++k) {
      pthread_t h;
      if (pthread_create(&h, nullptr, &Tagger::worker_main, &workers[k]) == 0) handles.push_back(h);
      else on_caller.push_back(k);
    }
    for (std::size_t k : on_caller) worker_main(&workers[k]);
    for (pthread_t h : handles) pthread_join(h, nullptr);
    return ok_status();
  }

  static void* worker_main(void* arg) {
    Worker& w = *static_cast<Worker*>(arg);
    for (std::size_t g = w.first; g < w.run->groups->size(); g += w.stride)
      (*w.run->groups)[g].status = w.run->tagger->run_group((*w.run->groups)[g], *w.run, *w.workspace);
    return nullptr;
  }

  Status run_group(Group& g, const Run& run, typename Encoder<T>::Workspace& workspace) {
    const std::vector<Job>& jobs = *run.jobs;
    const std::size_t B = g.end - g.begin, Tlen = jobs[g.begin].length; // longest first
    std::vector<std::int64_t> ids(B * Tlen, tokenizer_.pad_id()), mask(B * Tlen, 0);
    for (std::size_t b = 0; b < B; ++b) {
      const Job& job = jobs[g.begin + b];
      const Encoding& e = (*run.encodings)[job.text];
      const Window& w = (*run.windows)[job.text][job.window];
      std::int64_t* row = ids.data() + b * Tlen;
      row[0] = tokenizer_.cls_id();
      for (std::size_t t = w.begin; t < w.end; ++t) row[t - w.begin + 1] = e.ids[t + 1];
      row[job.length - 1] = tokenizer_.sep_id();
      std::fill(mask.begin() + static_cast<std::ptrdiff_t>(b * Tlen),
                mask.begin() + static_cast<std::ptrdiff_t>(b * Tlen + job.length), 1);
    }
    EncoderInput input;
    input.batch = static_cast<std::int64_t>(B);
    input.seq_len = static_cast<std::int64_t>(Tlen);
    input.input_ids = ids.data();
    input.attention_mask = mask.data();
    input.skip_padding = true; // only window rows are read back
    ALBERTNER_TRY(EncoderOutput out, encoder_.forward(input, workspace));
    const std::size_t L = run.num_labels;
    for (std::size_t b = 0; b < B; ++b) {
      const Job& job = jobs[g.begin + b];
      const float* src = out.logits + b * Tlen * L;
      window_logits_[job.text][job.window].assign(src, src + job.length * L);
    }
    return ok_status();
  }

  Model model_; // the encoder's weights point into its mapping, which moves with it
  Tokenizer tokenizer_;
  Encoder<T> encoder_;
  TaggerOptions options_;
  std::vector<std::unique_ptr<typename Encoder<T>::Workspace>> workspaces_;
  std::vector<std::vector<std::vector<float>>> window_logits_; // [text][window] -> [length][labels]
};

} // namespace albertner
