// Embedded-style use: no exceptions, no RTTI, everything from memory, every failure a value.
// Given a model file path, also reads the model into memory and tags a sentence from there.
#include <albertner/albertner.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#error "this program must be compiled with -fno-exceptions"
#endif
#if defined(__cpp_rtti) || defined(__GXX_RTTI)
#error "this program must be compiled with -fno-rtti"
#endif

namespace {

// A config.json as it would sit in flash or be received over the wire.
const char kConfigJson[] = R"({
  "architectures": ["AlbertForTokenClassification"],
  "model_type": "albert",
  "vocab_size": 30000, "embedding_size": 16, "hidden_size": 32, "num_attention_heads": 4,
  "intermediate_size": 37, "num_hidden_layers": 2, "num_hidden_groups": 1, "inner_group_num": 1,
  "max_position_embeddings": 64, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu_new",
  "id2label": {"0": "O", "1": "B-PER", "2": "I-PER"}
})";

albertner::Result<albertner::ModelConfig> config_from_memory(const char* data, std::size_t size) {
  auto json = albertner::parse_json(data, size);
  if (!json.ok()) return std::move(json).error().with_context("config.json");
  return albertner::model_config_from_hf_json(json.value());
}

int failures = 0;
void expect(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

/// The whole file in memory, as firmware would hold a model received over the wire or kept in flash.
bool read_whole_file(const char* path, std::vector<std::uint8_t>& out) {
  std::FILE* f = std::fopen(path, "rb");
  if (!f) return false;
  std::uint8_t chunk[1 << 16];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) out.insert(out.end(), chunk, chunk + n);
  const bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

/// Loads the model file at `path` from memory (no mapping, no filesystem access by the library),
/// tags one sentence and prints the entities.
void tag_from_memory(const char* path) {
  std::vector<std::uint8_t> bytes;
  expect(read_whole_file(path, bytes), "the model file reads into memory");
  if (bytes.empty()) return;
  std::printf("      (%s: %zu bytes in memory)\n", path, bytes.size());
  auto model = albertner::Model::from_buffer(bytes.data(), bytes.size());
  expect(model.ok(), "Model::from_buffer loads it");
  if (!model.ok()) {
    std::printf("      (%s)\n", model.error().what().c_str());
    return;
  }
  const albertner::ModelConfig& c = model.value().config();
  std::printf("      (config: vocab %lld, hidden %lld, layers %lld, %lld positions, %lld labels)\n",
              static_cast<long long>(c.vocab_size), static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.num_hidden_layers), static_cast<long long>(c.max_position_embeddings),
              static_cast<long long>(c.num_labels()));
  auto tagger = albertner::Tagger<>::from_model(std::move(model).value());
  expect(tagger.ok(), "Tagger::from_model builds tokenizer and encoder over the buffer");
  if (!tagger.ok()) {
    std::printf("      (%s)\n", tagger.error().what().c_str());
    return;
  }
  // An embedded product budgets its memory up front: the scratch of one full window is known
  // before any call, and reserve() takes exactly that.
  const albertner::Encoder& encoder = tagger.value().encoder();
  const std::int64_t positions = encoder.config().max_position_embeddings;
  const std::size_t need = encoder.workspace_bytes(1, positions);
  albertner::Encoder::Workspace workspace;
  expect(encoder.reserve(workspace, 1, positions).ok() && workspace.bytes() == need,
         "the workspace of a full window is known before the first call and reserve() takes exactly it");
  std::printf("      (encoder workspace for one %lld-position window: %zu bytes; %s kernels)\n",
              static_cast<long long>(positions), need, albertner::kernel_isa_name(albertner::kernel_isa()));
  // Or the product owns that memory: one buffer (here a vector; a static array would do) holds
  // all of a workspace's scratch, and a pass that does not fit is an error, not an allocation.
  std::vector<unsigned char> budget(encoder.workspace_buffer_bytes(1, positions));
  albertner::Encoder::Workspace lent;
  expect(encoder.use_buffer(lent, budget.data(), budget.size(), 1, positions).ok(),
         "use_buffer takes a buffer of workspace_buffer_bytes for a full window");
  std::vector<std::int64_t> ids(static_cast<std::size_t>(2 * positions), 1);
  albertner::EncoderInput in;
  in.batch = 1;
  in.seq_len = positions;
  in.input_ids = ids.data();
  auto mine = encoder.forward(in, workspace);
  auto theirs = encoder.forward(in, lent);
  const std::size_t logits = static_cast<std::size_t>(positions * encoder.config().num_labels()) * sizeof(float);
  expect(mine.ok() && theirs.ok() && std::memcmp(mine.value().logits, theirs.value().logits, logits) == 0,
         "a pass in the caller's buffer gives the logits of a workspace that owns its scratch");
  in.batch = 2;
  auto too_big = encoder.forward(in, lent);
  expect(!too_big.ok() && too_big.error().code() == albertner::errc::invalid_input,
         "a pass too big for the caller's buffer is errc::invalid_input");
  const std::string text = "Peter Blackburn of the European Commission spoke in Brussels on Thursday.";
  auto entities = tagger.value().tag(text);
  expect(entities.ok(), "a sentence is tagged");
  if (!entities.ok()) return;
  std::printf("      \"%s\": %zu entities\n", text.c_str(), entities.value().size());
  for (const albertner::Entity& e : entities.value())
    std::printf("      %-6s %.3f [%zu, %zu) \"%s\"\n", e.label.c_str(), static_cast<double>(e.score), e.start, e.end,
                e.text.c_str());
  auto broken = albertner::Model::from_buffer(bytes.data(), bytes.size() / 2);
  expect(!broken.ok() && broken.error().code() == albertner::errc::format, "half of the buffer is errc::format");
}

} // namespace

/// Usage: embedded [MODEL.safetensors]: the built-in checks, then, given a model file, tagging from memory.
int main(int argc, char** argv) {
  auto config = config_from_memory(kConfigJson, std::strlen(kConfigJson));
  expect(config.ok(), "a config.json in memory parses");
  if (config.ok()) {
    expect(config.value().validate().ok(), "the parsed config validates");
    expect(config.value().num_labels() == 3, "three labels");
  }

  const char truncated[] = R"({"hidden_size": 32, )";
  auto bad = config_from_memory(truncated, std::strlen(truncated));
  expect(!bad.ok(), "truncated JSON is an error value, not a crash");
  if (!bad.ok()) std::printf("      (%s)\n", bad.error().what().c_str());

  albertner::ModelConfig inconsistent;
  inconsistent.labels = {"O"};
  inconsistent.num_attention_heads = 7; // does not divide hidden_size = 768
  const albertner::Status status = inconsistent.validate();
  expect(!status.ok() && status.error().code() == albertner::errc::config, "an inconsistent config is errc::config");

  if (argc > 1) tag_from_memory(argv[1]);
  else std::printf("      (no model file given: tagging from memory skipped)\n");

  std::printf("embedded: %s\n", failures == 0 ? "all checks passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
