// SafeTensors::from_buffer and Model::from_buffer on arbitrary bytes. Whatever is accepted must
// be internally consistent: every view inside the buffer, the writer able to write it back to
// bytes the reader accepts again, and a loadable model runnable end to end (tokenizer, encoder).
#include <albertner/albertner.hpp>
#include <albertner/tooling/safetensors_writer.hpp>

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <cstdint>

using namespace albertner;

namespace {

void check_tensors(const SafeTensors& st, const std::uint8_t* data, std::size_t size) {
  for (const TensorView& t : st.tensors()) {
    FUZZ_CHECK(st.find(t.name) == &t);
    FUZZ_CHECK(t.nbytes == static_cast<std::size_t>(t.numel()) * dtype_size(t.type));
    FUZZ_CHECK(t.nbytes == 0 || (t.data >= data && t.data + t.nbytes <= data + size));
    albertner_fuzz::touch(t.data, t.nbytes);
  }
  // What the reader accepts, the writer writes back, and the reader accepts that again.
  SafeTensorsWriter w;
  for (const TensorView& t : st.tensors()) FUZZ_CHECK(w.add(t.name, t.type, t.shape, t.data, t.nbytes).ok());
  for (const auto& kv : st.metadata()) w.set_metadata(kv.first, kv.second);
  auto bytes = w.to_bytes();
  FUZZ_CHECK(bytes.ok());
  auto again = SafeTensors::from_buffer(bytes->data(), bytes->size());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->tensors().size() == st.tensors().size());
  FUZZ_CHECK(again->metadata().size() == st.metadata().size());
  for (const TensorView& t : st.tensors()) {
    const TensorView* u = again->find(t.name);
    FUZZ_CHECK(u && u->type == t.type && u->shape == t.shape && u->nbytes == t.nbytes);
    FUZZ_CHECK(t.nbytes == 0 || std::memcmp(u->data, t.data, t.nbytes) == 0);
  }
}

// Loading the real 760 kB spiece.model takes most of an execution, and most mutations of a model
// file leave it alone: the last tokenizer is reused while the spiece bytes and options are the same.
struct TokenizerCache {
  std::string spiece, options;
  std::unique_ptr<Result<Tokenizer>> tokenizer;
};
TokenizerCache cache;

const Result<Tokenizer>& tokenizer_of(const Model& model) {
  const TensorView& sp = model.spiece_model();
  std::string options = tokenizer_options_to_json(model.tokenizer_options()).dump();
  if (!cache.tokenizer || cache.options != options || cache.spiece.size() != sp.nbytes ||
      std::memcmp(cache.spiece.data(), sp.data, sp.nbytes) != 0) {
    cache.spiece.assign(reinterpret_cast<const char*>(sp.data), sp.nbytes);
    cache.options = std::move(options);
    cache.tokenizer = std::make_unique<Result<Tokenizer>>(
        Tokenizer::from_spiece_bytes(sp.data, sp.nbytes, model.tokenizer_options()));
  }
  return *cache.tokenizer;
}

void run_model(const Model& model, const std::uint8_t* data, std::size_t size) {
  const ModelConfig& c = model.config();
  FUZZ_CHECK(c.validate().ok());
  albertner_fuzz::touch(model.spiece_model().data, model.spiece_model().nbytes);
  const Result<Tokenizer>& tokenizer = tokenizer_of(model);
  auto encoder = make_encoder(model);
  if (!encoder.ok()) return;
  // Weights exist for every size, so the work is bounded by the input; still skip absurd depth.
  const double work = static_cast<double>(c.num_hidden_layers) * static_cast<double>(c.inner_group_num) *
                      static_cast<double>(c.hidden_size) * static_cast<double>(c.hidden_size + c.intermediate_size);
  if (work > 5e7) return;
  std::int64_t ids[4] = {0, 0, 0, 0};
  std::int64_t mask[4] = {1, 1, 1, 0};
  if (tokenizer.ok()) {
    auto e = tokenizer->encode("John lives in Paris, 1996.");
    FUZZ_CHECK(e.ok());
    for (std::size_t i = 0; i < 4 && i < e->size(); ++i) ids[i] = e->ids[i];
  }
  for (std::int64_t& id : ids) id %= c.vocab_size;
  EncoderInput in;
  in.batch = 1;
  in.seq_len = c.max_position_embeddings < 4 ? c.max_position_embeddings : 4;
  in.input_ids = ids;
  in.attention_mask = mask;
  Encoder::Workspace ws;
  auto out = encoder->forward(in, ws);
  FUZZ_CHECK(out.ok());
  FUZZ_CHECK(out->num_labels == c.num_labels());

  // The whole pipeline (non-finite weights reach the span decoder here) for small tokenizers only,
  // since the Tagger loads its own.
  if (!tokenizer.ok() || tokenizer->vocab_size() > c.vocab_size || model.spiece_model().nbytes > 65536) return;
  TaggerOptions options;
  options.overlap = 1;
  auto tagger = Tagger<>::from_buffer(data, size, options);
  if (!tagger.ok()) return; // e.g. fewer than 4 positions
  auto entities = tagger->tag("John lives in Paris, 1996. The john paris.");
  if (entities.ok())
    for (const Entity& e : *entities) FUZZ_CHECK(e.byte_end <= 42 && e.byte_start <= e.byte_end);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto st = SafeTensors::from_buffer(data, size);
  if (st.ok()) {
    FUZZ_CHECK(st->file_size() == size);
    check_tensors(*st, data, size);
  } else {
    FUZZ_CHECK(!st.error().message().empty());
  }
  auto model = Model::from_buffer(data, size);
  if (model.ok()) {
    FUZZ_CHECK(st.ok());
    run_model(*model, data, size);
  }
  return 0;
}
