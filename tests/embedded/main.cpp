// Embedded-style use: no exceptions, no RTTI, everything from memory, every failure a value.
#include <albertner/albertner.hpp>

#include <cstdio>
#include <cstring>

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
  auto json = albertner::detail::parse_json(data, size);
  if (!json.ok()) return std::move(json).error().with_context("config.json");
  return albertner::model_config_from_hf_json(json.value());
}

int failures = 0;
void expect(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

} // namespace

int main() {
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

  std::printf("embedded: %s\n", failures == 0 ? "all checks passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
