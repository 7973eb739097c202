// The JSON the albertner CLI reads, through the library calls it makes:
// - `albertner logits` input: {"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]]}
//   → EncoderInput → Encoder::forward (golden tiny model);
// - `albertner tag --format jsonl` / `albertner tokenize` stdin: one {"text": ...} or
//   {"words": [...]} object per line → Tagger::tag_batch / Tokenizer::encode(_words), and the
//   entity JSON the CLI prints from the result must parse back to the same strings.
// The logits input is read by the CLI's own code (tools/albertner/logits_input.hpp, apart from
// CLI11 for this purpose).
#include <albertner/albertner.hpp>
#include <albertner/tooling/converter.hpp>

#include "../../tools/albertner/logits_input.hpp"
#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

using namespace albertner;

namespace {

std::vector<std::uint8_t> model_bytes; // the converted golden tiny model, read into memory
std::unique_ptr<Tagger<>> tagger;

void logits(const Json& root) {
  auto input = albertner_cli::read_logits_input(root);
  if (!input.ok()) {
    FUZZ_CHECK(input.error().code() == errc::invalid_input);
    return;
  }
  const std::int64_t B = input->batch, T = input->seq_len;
  const EncoderInput in = input->encoder_input();
  Encoder::Workspace ws;
  auto out = tagger->encoder().forward(in, ws);
  if (!out.ok()) {
    FUZZ_CHECK(out.error().code() == errc::invalid_input);
    return;
  }
  FUZZ_CHECK(T >= 1 && T <= tagger->model().config().max_position_embeddings);
  FUZZ_CHECK(out->batch == B && out->seq_len == T);
  float sum = 0;
  for (std::int64_t i = 0; i < B * T * out->num_labels; ++i) sum += out->logits[i];
  (void)sum;
}

/// What `albertner tag --format jsonl` prints for one entity must read back.
void check_entity_json(const std::string& text, const Entity& e) {
  FUZZ_CHECK(e.byte_start <= e.byte_end && e.byte_end <= text.size());
  FUZZ_CHECK(e.start <= e.end);
  FUZZ_CHECK(e.text == text.substr(e.byte_start, e.byte_end - e.byte_start));
  std::string json = "{\"entity_group\":";
  albertner::json_escape_to(json, e.label);
  json += ",\"word\":";
  albertner::json_escape_to(json, e.word);
  json += ",\"text\":";
  albertner::json_escape_to(json, e.text);
  json += "}";
  auto back = albertner::parse_json(json);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->find("word")->as_string() == e.word && back->find("text")->as_string() == e.text &&
             back->find("entity_group")->as_string() == e.label);
}

void lines(const std::string& input) {
  std::vector<std::string> texts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= input.size(); ++i) {
    if (i < input.size() && input[i] != '\n') continue;
    const std::string line = input.substr(start, i - start);
    start = i + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = albertner::parse_json(line);
    if (!j.ok() || !j->is_object()) continue;
    const Json* text = j->find("text");
    const Json* words = j->find("words");
    if (text && text->is_string()) {
      texts.push_back(text->as_string());
      auto e = tagger->tokenizer().encode(text->as_string());
      FUZZ_CHECK(e.ok()); // JSON strings are valid UTF-8
    } else if (words && words->is_array()) {
      std::vector<std::string> list;
      bool strings = true;
      for (const Json& w : words->items()) {
        strings = strings && w.is_string();
        if (strings) list.push_back(w.as_string());
      }
      if (!strings) continue;
      auto e = tagger->tokenizer().encode_words(list);
      FUZZ_CHECK(e.ok());
    }
  }
  if (texts.empty()) return;
  auto all = tagger->tag_batch(texts);
  FUZZ_CHECK(all.ok());
  FUZZ_CHECK(all->size() == texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i)
    for (const Entity& e : (*all)[i]) check_entity_json(texts[i], e);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/albertner_fuzz_cli_XXXXXX";
  if (!::mkdtemp(dir)) std::exit(2);
  const std::string path = std::string(dir) + "/tiny.safetensors";
  auto report = convert_hf_checkpoint(albertner_fuzz::shared_path("golden/tiny"), path);
  if (!report.ok()) {
    std::fprintf(stderr, "fuzz_cli_json: converting golden/tiny: %s\n", report.error().what().c_str());
    std::exit(2);
  }
  model_bytes = albertner_fuzz::read_file_or_die(path);
  ::unlink(path.c_str());
  ::rmdir(dir);
  TaggerOptions options;
  options.overlap = 16; // the tiny model has 64 positions
  auto t = Tagger<>::from_buffer(model_bytes.data(), model_bytes.size(), options);
  if (!t.ok()) {
    std::fprintf(stderr, "fuzz_cli_json: %s\n", t.error().what().c_str());
    std::exit(2);
  }
  tagger = std::make_unique<Tagger<>>(std::move(t).value());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto root = albertner::parse_json(input);
  if (root.ok() && root->is_object()) logits(*root);
  lines(input);
  return 0;
}
