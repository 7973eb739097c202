// Writes the seed corpora of the fuzz targets into OUT/<target>/, generated from the shared golden
// fixtures (nothing is committed): model files, checkpoints, JSON documents, texts and word lists.
// Usage: make_seeds SHARED_DIR OUT_DIR
#include <albertner/albertner.hpp>
#include <albertner/tooling/converter.hpp>
#include <albertner/io/json.hpp>

#include "../synthetic_model.hpp"
#include "../torch_zip.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace {

using albertner::Json;
std::string shared, out;
int written = 0;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::string dir = out + "/" + target;
  ::mkdir(dir.c_str(), 0755);
  std::ofstream f(dir + "/" + name, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ++written;
}
void put(const std::string& target, const std::string& name, const std::vector<std::uint8_t>& bytes) {
  put(target, name, std::string(bytes.begin(), bytes.end()));
}
void copy(const std::string& target, const std::string& name, const std::string& relative) {
  const std::string bytes = slurp(shared + "/" + relative);
  if (!bytes.empty()) put(target, name, bytes);
}

/// Cuts every string longer than 64 bytes (the base64 precompiled charsmap, say) to 64 bytes.
void shorten_strings(Json& j) {
  if (j.is_string() && j.as_string().size() > 64) j = Json::make_string(j.as_string().substr(0, 64));
  for (Json& item : j.items()) shorten_strings(item);
  for (Json::Member& m : j.members()) shorten_strings(m.second);
}

/// Every `step`-th line of a JSON-lines file, parsed.
std::vector<Json> sample_lines(const std::string& relative, std::size_t step, std::size_t max) {
  std::vector<Json> docs;
  std::ifstream in(shared + "/" + relative);
  std::string line;
  for (std::size_t i = 0; std::getline(in, line) && docs.size() < max; ++i) {
    if (i % step) continue;
    auto j = albertner::parse_json(line);
    if (j.ok()) docs.push_back(std::move(j).value());
  }
  return docs;
}

void safetensors_seeds() {
  copy("safetensors", "golden-tiny-model", "golden/tiny/model.safetensors");
  copy("safetensors", "golden-tiny-expected", "golden/tiny/expected.safetensors");
  // The golden tiny folder converted: a real albertner model file.
  const std::string tmp = out + "/converted-tiny.safetensors";
  auto report = albertner::convert_hf_checkpoint(shared + "/golden/tiny", tmp);
  if (report.ok()) {
    put("safetensors", "converted-tiny", slurp(tmp));
    put("c_api", "converted-tiny", slurp(tmp)); // fuzz_c_api opens model files through the C API
    ::unlink(tmp.c_str());
  } else {
    std::fprintf(stderr, "make_seeds: converting golden/tiny failed: %s\n", report.error().what().c_str());
  }
  // Small albertner model files (hand-made spiece, hidden 8) whose every path is cheap to run.
  const std::string spiece = albertner_test::handmade_spiece();
  albertner::ModelConfig c = albertner_test::small_config(22);
  if (auto m = albertner_test::synthetic_model_file(c, spiece); m.ok()) {
    put("safetensors", "small-model", *m);
    put("c_api", "small-model", *m);
  }
  albertner::TokenizerOptions reconverted;
  reconverted.whitespace_split = false;
  reconverted.keep_accents = true;
  c.hidden_act = albertner::activation::relu;
  c.num_hidden_layers = 3;
  c.inner_group_num = 2;
  if (auto m = albertner_test::synthetic_model_file(c, spiece, reconverted, 7); m.ok()) {
    put("safetensors", "small-model-reconverted", *m);
    put("c_api", "small-model-reconverted", *m);
  }
  // Every dtype, a scalar, an empty tensor and metadata.
  albertner::SafeTensorsWriter w;
  const std::uint8_t bytes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  (void)w.add("f32", albertner::dtype::f32, {2, 2}, bytes, 16);
  (void)w.add("f16", albertner::dtype::f16, {4}, bytes, 8);
  (void)w.add("bf16", albertner::dtype::bf16, {1, 2}, bytes, 4);
  (void)w.add("f64", albertner::dtype::f64, {2}, bytes, 16);
  (void)w.add("i64", albertner::dtype::i64, {1}, bytes, 8);
  (void)w.add("i32", albertner::dtype::i32, {}, bytes, 4);
  (void)w.add("i16", albertner::dtype::i16, {3}, bytes, 6);
  (void)w.add("i8", albertner::dtype::i8, {0, 5}, bytes, 0);
  (void)w.add("u8", albertner::dtype::u8, {5}, bytes, 5);
  (void)w.add("bool", albertner::dtype::boolean, {2}, bytes, 2);
  w.set_metadata("format", "pt");
  if (auto b = w.to_bytes(); b.ok()) put("safetensors", "all-dtypes", *b);
}

void torch_bin_seeds() {
  using namespace albertner_test;
  copy("torch_bin", "golden-tiny", "golden/tiny/pytorch_model.bin");
  const std::string k6 = floats({1, 2, 3, 4, 5, 6});
  put("torch_bin", "contiguous",
      checkpoint(
          state_dict({{"a", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1}}, {"b", "FloatStorage", "0", 6, 2, {4}, {1}}}),
          {{"0", k6}}));
  put("torch_bin", "strided",
      checkpoint(state_dict({{"t", "FloatStorage", "0", 6, 0, {3, 2}, {1, 3}},
                             {"e", "FloatStorage", "0", 6, 1, {2, 2}, {0, 1}}}),
                 {{"0", k6}}));
  put("torch_bin", "dtypes",
      checkpoint(state_dict({{"h", "HalfStorage", "0", 4, 0, {4}, {1}},
                             {"l", "LongStorage", "1", 1, 0, {}, {}},
                             {"d", "DoubleStorage", "2", 2, 0, {2}, {1}},
                             {"z", "BoolStorage", "3", 0, 0, {0}, {1}}}),
                 {{"0", std::string(8, '\1')}, {"1", std::string(8, '\2')}, {"2", std::string(16, '\3')}, {"3", ""}}));
  // OrderedDict root with _rebuild_parameter, as torch.save(model.state_dict()) writes it.
  Pickle p;
  p.proto(2).global("collections", "OrderedDict").empty_tuple().reduce().put(0).mark();
  p.str("w").global("torch._utils", "_rebuild_parameter").mark();
  emit_tensor(p, {"w", "FloatStorage", "0", 6, 0, {6}, {1}});
  p.op(0x88).global("collections", "OrderedDict").empty_tuple().reduce().tuple().reduce();
  p.setitems().stop();
  put("torch_bin", "ordered-dict-parameter", checkpoint(p.b, {{"0", k6}}));
  // A bare pickle too: the target also feeds its input to the unpickler directly.
  put("torch_bin", "bare-pickle", state_dict({{"a", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1}}}));
}

void json_seeds() {
  for (const char* f :
       {"golden/tiny/config.json", "golden/base/config.json", "golden/tiny/tokenizer_config.json",
        "golden/base/tokenizer_config.json", "golden/base/special_tokens_map.json", "golden/tiny/cases.json",
        "golden/tokenizer/offset_units.json", "golden/tokenizer-reconverted/slow_vs_fast.json"}) {
    std::string name = f;
    for (char& ch : name)
      if (ch == '/') ch = '-';
    copy("json", name, f);
  }
  // tokenizer.json without most of its 30,000-piece vocabulary: the normalizer and pre-tokenizer
  // are what tokenizer_options_from_hf reads.
  for (const char* variant : {"tokenizer", "tokenizer-reconverted"}) {
    auto j = albertner::parse_json(slurp(shared + "/golden/" + variant + "/tokenizer.json"));
    if (!j.ok()) continue;
    for (Json::Member& m : j->members())
      if (m.first == "model")
        for (Json::Member& mm : m.second.members())
          if (mm.first == "vocab" && mm.second.is_array() && mm.second.items().size() > 8) mm.second.items().resize(8);
    shorten_strings(*j);
    put("json", std::string(variant) + "-tokenizer.json", j->dump());
  }
  std::size_t k = 0;
  for (const Json& line : sample_lines("golden/tokenizer/cases_text.jsonl", 400, 10))
    put("json", "cases-text-" + std::to_string(k++), line.dump());
}

void tokenizer_seeds() {
  std::size_t k = 0;
  for (const char* f : {"golden/tokenizer/cases_text.jsonl", "golden/tokenizer-reconverted/cases_text.jsonl"})
    for (const Json& line : sample_lines(f, 17, 200))
      if (const Json* t = line.find("text"); t && t->is_string())
        put("tokenizer", "text-" + std::to_string(k++), t->as_string());
  k = 0;
  // Word lists: the target splits its input on '\n' for encode_words.
  for (const Json& line : sample_lines("golden/tokenizer/cases_words.jsonl", 23, 100))
    if (const Json* w = line.find("words"); w && w->is_array()) {
      std::string joined;
      for (const Json& word : w->items())
        if (word.is_string()) joined += (joined.empty() ? "" : "\n") + word.as_string();
      put("tokenizer", "words-" + std::to_string(k++), joined);
    }
}

void cli_json_seeds() {
  std::size_t k = 0;
  // `albertner logits` input: ids of real sentences (truncated to the tiny model's 64 positions).
  std::vector<std::vector<std::int64_t>> rows;
  for (const Json& line : sample_lines("golden/tokenizer/cases_text.jsonl", 97, 12))
    if (const Json* ids = line.find("input_ids"); ids && ids->is_array()) {
      std::vector<std::int64_t> row;
      for (const Json& id : ids->items())
        if (id.is_integer() && row.size() < 64) row.push_back(id.as_int());
      rows.push_back(row);
    }
  auto matrix = [](const std::vector<std::vector<std::int64_t>>& m) {
    Json a = Json::make_array();
    for (const auto& r : m) {
      Json row = Json::make_array();
      for (std::int64_t v : r) row.push_back(Json::make_number(static_cast<double>(v), true, v));
      a.push_back(std::move(row));
    }
    return a;
  };
  for (const auto& row : rows) {
    Json doc = Json::make_object();
    doc.set("input_ids", matrix({row}));
    put("cli_json", "logits-" + std::to_string(k++), doc.dump());
  }
  if (rows.size() >= 2) { // a padded batch of two with masks and token types
    std::vector<std::int64_t> a = rows[0], b = rows[1];
    const std::size_t T = std::max(a.size(), b.size());
    std::vector<std::int64_t> ma(T, 0), mb(T, 0), ta(T, 0), tb(T, 1);
    for (std::size_t i = 0; i < a.size(); ++i) ma[i] = 1;
    for (std::size_t i = 0; i < b.size(); ++i) mb[i] = 1;
    a.resize(T, 0);
    b.resize(T, 0);
    Json doc = Json::make_object();
    doc.set("input_ids", matrix({a, b}));
    doc.set("attention_mask", matrix({ma, mb}));
    doc.set("token_type_ids", matrix({ta, tb}));
    put("cli_json", "logits-batch", doc.dump());
  }
  // `albertner tag --format jsonl` and `albertner tokenize` stdin: {"text": ...} / {"words": [...]} lines.
  k = 0;
  std::string lines;
  std::size_t n = 0;
  for (const Json& line : sample_lines("golden/pipeline/cases.jsonl", 3, 20)) {
    const Json* t = line.find("text");
    if (!t || !t->is_string()) continue;
    Json doc = Json::make_object();
    doc.set("text", *t);
    lines += doc.dump() + "\n";
    if (++n % 4 == 0) {
      put("cli_json", "jsonl-text-" + std::to_string(k++), lines);
      lines.clear();
    }
  }
  k = 0;
  for (const Json& line : sample_lines("golden/tokenizer/cases_words.jsonl", 150, 12)) {
    const Json* w = line.find("words");
    if (!w) continue;
    Json doc = Json::make_object();
    doc.set("words", *w);
    put("cli_json", "jsonl-words-" + std::to_string(k++), doc.dump() + "\n");
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds SHARED_DIR OUT_DIR\n");
    return 2;
  }
  shared = argv[1];
  out = argv[2];
  ::mkdir(out.c_str(), 0755);
  safetensors_seeds();
  torch_bin_seeds();
  json_seeds();
  tokenizer_seeds();
  cli_json_seeds();
  std::printf("make_seeds: %d seed files under %s\n", written, out.c_str());
  return written > 0 ? 0 : 1;
}
