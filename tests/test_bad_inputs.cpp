// The bad-input catalogue: one test case per kind of hostile, broken or extreme input, each going
// through the public API and asserting the error category AND a distinctive part of the message
// (or, for extreme-but-valid input, that it works). Malformed files are built in memory; model
// folders and converted models live in a temporary folder under the build tree.
// docs/robustness.md lists the rows.
#include <albertner/albertner.hpp>
#include <albertner/tooling/converter.hpp>
#include <albertner/tooling/torch_bin.hpp>

#include "check_error.hpp"
#include "shared.hpp"
#include "synthetic_model.hpp"
#include "torch_zip.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace albertner;
using albertner_test::SyntheticTensor;

namespace {

using Bytes = std::vector<std::uint8_t>;

// ---- temporary files -------------------------------------------------------------------------

void remove_tree(const std::string& path) {
  if (DIR* d = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) remove_tree(path + "/" + e->d_name);
    ::closedir(d);
    ::rmdir(path.c_str());
  } else {
    ::unlink(path.c_str());
  }
}

/// ALBERTNER_BINARY_DIR/test_bad_inputs.<pid>/, removed when the program ends.
struct Scratch {
  std::string dir;
  Scratch() {
    dir = std::string(ALBERTNER_BINARY_DIR) + "/test_bad_inputs." + std::to_string(::getpid());
    ::mkdir(dir.c_str(), 0755);
  }
  ~Scratch() { remove_tree(dir); }
};
const std::string& scratch() {
  static Scratch s;
  return s.dir;
}

void write_file(const std::string& path, const void* data, std::size_t size) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  REQUIRE(f.good());
}
void write_file(const std::string& path, const std::string& s) { write_file(path, s.data(), s.size()); }
void write_file(const std::string& path, const Bytes& b) { write_file(path, b.data(), b.size()); }

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// ---- safetensors images ----------------------------------------------------------------------

/// `declared` as the header length, then `header`, then `data_bytes` bytes.
Bytes image(std::uint64_t declared, const std::string& header, std::size_t data_bytes) {
  Bytes out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(declared >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + data_bytes, 0);
  return out;
}
Bytes image(const std::string& header, std::size_t data_bytes) { return image(header.size(), header, data_bytes); }

Result<SafeTensors> read(const Bytes& b) { return SafeTensors::from_buffer(b.data(), b.size()); }

// ---- small models ----------------------------------------------------------------------------

/// An albertner model file for the small config with the hand-made spiece model.
Bytes small_model_file(const ModelConfig& c = albertner_test::small_config(22)) {
  auto m = albertner_test::synthetic_model_file(c, albertner_test::handmade_spiece());
  REQUIRE(m.ok());
  return std::move(m).value();
}

/// Tagger options that fit the small model's 16 positions.
TaggerOptions small_options() {
  TaggerOptions o;
  o.overlap = 4;
  return o;
}

/// A Hugging Face folder under scratch(): config.json from `config` (as JSON, edited by the
/// caller), model.safetensors from `tensors`, the hand-made spiece.model.
std::string hf_folder(const std::string& name, const albertner::Json& config,
                      const std::vector<SyntheticTensor>& tensors) {
  const std::string dir = scratch() + "/" + name;
  ::mkdir(dir.c_str(), 0755);
  write_file(dir + "/config.json", config.dump());
  auto w = albertner_test::synthetic_writer(tensors);
  REQUIRE(w.ok());
  auto bytes = w->to_bytes();
  REQUIRE(bytes.ok());
  write_file(dir + "/model.safetensors", *bytes);
  write_file(dir + "/spiece.model", albertner_test::handmade_spiece());
  return dir;
}

Result<ConvertReport> convert(const std::string& dir) { return convert_hf_checkpoint(dir, dir + "/out.safetensors"); }

/// config.json for the small config with one field replaced.
albertner::Json small_config_json() { return model_config_to_json(albertner_test::small_config(22)); }
albertner::Json with(albertner::Json j, const std::string& key, albertner::Json value) {
  j.set(key, std::move(value));
  return j;
}
albertner::Json integer(std::int64_t v) { return albertner::Json::make_number(static_cast<double>(v), true, v); }

/// The weights of the small config with `value` at flat `index` of tensor `name`.
std::vector<SyntheticTensor> weights_with(const std::string& name, std::size_t index, float value) {
  auto tensors = albertner_test::synthetic_weights(albertner_test::small_config(22));
  for (SyntheticTensor& t : tensors)
    if (t.name == name) t.values.at(index) = value;
  return tensors;
}

/// The golden tiny folder converted once per run (nullptr without the shared fixtures).
const Bytes* tiny_model() {
  static Bytes bytes;
  static bool tried = false;
  if (!tried) {
    tried = true;
    if (!albertner_test::have_shared("golden/tiny")) return nullptr;
    const std::string out = scratch() + "/tiny.safetensors";
    auto report = convert_hf_checkpoint(albertner_test::shared_path("golden/tiny"), out);
    REQUIRE(report.ok());
    std::ifstream in(out, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return bytes.empty() ? nullptr : &bytes;
}

// ---- hostile pickles -------------------------------------------------------------------------

/// A sentinel path that a successful attack would create.
std::string sentinel(const std::string& tag) {
  const std::string s = scratch() + "/pwned-" + tag;
  ::unlink(s.c_str());
  return s;
}

/// A data.pkl that calls module.name(argument) at load time, in a torch checkpoint zip.
std::string evil_checkpoint(const std::string& module, const std::string& name, const std::string& argument) {
  albertner_test::Pickle p;
  p.proto(2).global(module, name).mark().str(argument).tuple().reduce().stop();
  return albertner_test::checkpoint(p.b, {});
}

Result<detail::TorchCheckpoint> read_bin(const std::string& bytes) {
  return detail::read_torch_bin_buffer(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(),
                                       "pytorch_model.bin");
}

} // namespace

// =============================================================================================
// safetensors files

TEST_CASE("bad input: a safetensors file shorter than the 8-byte header length") {
  const Bytes b = {1, 2, 3};
  CHECK_ERROR(read(b), errc::format, "3 bytes, too short for the 8-byte header length");
}

TEST_CASE("bad input: a truncated safetensors file (data section cut short)") {
  Bytes b = image(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 16);
  b.resize(b.size() - 5);
  CHECK_ERROR(read(b), errc::format, "holds only 11 bytes (file truncated?)");
}

TEST_CASE("bad input: a header length that runs past the end of the file") {
  CHECK_ERROR(read(image(4096, "{}", 0)), errc::format, "runs past the end of the file (8 + 4096 > 10 bytes)");
}

TEST_CASE("bad input: a header length over 100 MB") {
  CHECK_ERROR(read(image(100000001, "{}", 0)), errc::format, "header length 100000001 exceeds the limit of 100000000");
}

TEST_CASE("bad input: a header that is not JSON") {
  CHECK_ERROR(read(image("{\"w\": [1, 2", 0)), errc::format, "header: invalid JSON at byte");
}

TEST_CASE("bad input: a header that is JSON but not an object") {
  CHECK_ERROR(read(image("[1, 2, 3]", 0)), errc::format, "header is an array, not a JSON object");
}

TEST_CASE("bad input: duplicate tensor names in the header") {
  CHECK_ERROR(read(image(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                         R"("w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                         2)),
              errc::format, "duplicate tensor 'w'");
}

TEST_CASE("bad input: tensors whose data_offsets overlap") {
  CHECK_ERROR(read(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                         R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                         6)),
              errc::format, "tensor 'b': data_offsets [2, 6] overlap tensor 'a'");
}

TEST_CASE("bad input: a hole between tensors in the data section") {
  CHECK_ERROR(read(image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                         R"("b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
                         6)),
              errc::format, "bytes [2, 4) of the data section belong to no tensor");
}

TEST_CASE("bad input: trailing bytes after the last tensor") {
  CHECK_ERROR(read(image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 7)), errc::format,
              "(5 trailing bytes)");
}

TEST_CASE("bad input: dtype and shape that disagree with the byte size of data_offsets") {
  CHECK_ERROR(read(image(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 12)), errc::format,
              "hold 12 bytes but F32 [2, 2] needs 16");
}

TEST_CASE("bad input: a model file path that does not exist") {
  CHECK_ERROR(Model::open(scratch() + "/no-such-model.safetensors"), errc::io,
              "no-such-model.safetensors: cannot open");
}

TEST_CASE("bad input: a JSON header of millions of tiny values is refused before it costs gigabytes") {
  // Each value is ~100 bytes of DOM for 3 bytes of "[],": a 100 MB safetensors header took 3.6 GB
  // before this limit (found while fuzzing, docs/robustness.md). The default bound is checked
  // here with a small limit; the default itself caps such a header at ~0.5 GB.
  CHECK(albertner::JsonLimits{}.max_values == (std::size_t(1) << 22));
  std::string text = "{\"a\":[";
  for (int i = 0; i < 1000; ++i) text += "[],";
  text += "[]]}";
  albertner::JsonLimits limits;
  limits.max_values = 1000;
  CHECK_ERROR(albertner::parse_json(text, limits), errc::format, "more than 1000 values");
  limits.max_values = 1002; // the object, the array and its 1001 items: one too few
  CHECK_ERROR(albertner::parse_json(text, limits), errc::format, "more than 1002 values");
  limits.max_values = 1003;
  CHECK(albertner::parse_json(text, limits).ok());
}

// =============================================================================================
// model files

TEST_CASE("bad input: a Hugging Face safetensors checkpoint given where a model file is expected") {
  auto w = albertner_test::synthetic_writer(albertner_test::synthetic_weights(albertner_test::small_config(22)));
  REQUIRE(w.ok());
  auto b = w->to_bytes();
  REQUIRE(b.ok());
  CHECK_ERROR(Model::from_buffer(b->data(), b->size()), errc::format,
              "not an albertner model file (metadata 'format' is absent)");
}

TEST_CASE("bad input: a model file of another format version") {
  auto w = albertner_test::synthetic_writer(albertner_test::synthetic_weights(albertner_test::small_config(22)));
  REQUIRE(w.ok());
  w->set_metadata(model_keys::format, "albertner");
  w->set_metadata(model_keys::format_version, "2");
  auto b = w->to_bytes();
  REQUIRE(b.ok());
  CHECK_ERROR(Model::from_buffer(b->data(), b->size()), errc::unsupported,
              "model format version '2' is not supported (this library reads version 1)");
}

TEST_CASE("bad input: a model file that lacks a weight tensor") {
  const ModelConfig c = albertner_test::small_config(22);
  auto tensors = albertner_test::synthetic_weights(c);
  std::vector<SyntheticTensor> kept;
  for (SyntheticTensor& t : tensors)
    if (t.name != "classifier.bias") kept.push_back(std::move(t));
  auto w = albertner_test::synthetic_writer(kept);
  REQUIRE(w.ok());
  const std::string spiece = albertner_test::handmade_spiece();
  REQUIRE(w->add(model_keys::spiece_model, dtype::u8, {static_cast<std::int64_t>(spiece.size())}, spiece.data(),
                 spiece.size())
              .ok());
  w->set_metadata(model_keys::format, "albertner");
  w->set_metadata(model_keys::format_version, "1");
  w->set_metadata(model_keys::config, model_config_to_json(c).dump());
  w->set_metadata(model_keys::tokenizer, tokenizer_options_to_json({}).dump());
  auto b = w->to_bytes();
  REQUIRE(b.ok());
  CHECK_ERROR(Tagger<>::from_buffer(b->data(), b->size(), small_options()), errc::missing,
              "tensor 'classifier.bias' is missing (expected F32 [9])");
}

TEST_CASE("bad input: a checkpoint tensor of the wrong shape") {
  auto tensors = albertner_test::synthetic_weights(albertner_test::small_config(22));
  for (SyntheticTensor& t : tensors)
    if (t.name == "albert.embeddings.position_embeddings.weight") t.shape = {4, 16}; // 64 floats, as [16, 4]
  CHECK_ERROR(convert(hf_folder("wrong-shape", small_config_json(), tensors)), errc::shape,
              "tensor 'albert.embeddings.position_embeddings.weight' has shape [4, 16], expected [16, 4]");
}

TEST_CASE("bad input: a checkpoint without a tensor the config needs") {
  auto tensors = albertner_test::synthetic_weights(albertner_test::small_config(22));
  tensors.erase(tensors.begin() + 1); // position embeddings
  CHECK_ERROR(convert(hf_folder("missing-tensor", small_config_json(), tensors)), errc::missing,
              "tensor 'albert.embeddings.position_embeddings.weight' is missing");
}

// =============================================================================================
// config.json

TEST_CASE("bad input: an unknown hidden_act") {
  const auto j = with(small_config_json(), "hidden_act", albertner::Json::make_string("swish"));
  CHECK_ERROR(convert(hf_folder("act", j, albertner_test::synthetic_weights(albertner_test::small_config(22)))),
              errc::unsupported, "hidden_act 'swish' is not supported");
}

TEST_CASE("bad input: num_attention_heads that does not divide hidden_size") {
  const auto j = with(small_config_json(), "num_attention_heads", integer(3));
  CHECK_ERROR(convert(hf_folder("heads", j, albertner_test::synthetic_weights(albertner_test::small_config(22)))),
              errc::config, "num_attention_heads = 3 does not divide hidden_size = 8");
}

TEST_CASE("bad input: a zero size in config.json") {
  const auto j = with(small_config_json(), "hidden_size", integer(0));
  CHECK_ERROR(convert(hf_folder("zero", j, albertner_test::synthetic_weights(albertner_test::small_config(22)))),
              errc::config, "hidden_size = 0 is out of range [1, 65536]");
}

TEST_CASE("bad input: an absurd size in config.json") {
  const auto j = with(small_config_json(), "vocab_size", integer(std::int64_t(1) << 40));
  CHECK_ERROR(convert(hf_folder("absurd", j, albertner_test::synthetic_weights(albertner_test::small_config(22)))),
              errc::config, "vocab_size = 1099511627776 is out of range [1, 16777216]");
}

TEST_CASE("bad input: the most labels config.json may declare, written back without quadratic work") {
  // {"num_labels": 57966} once made the model's own JSON (id2label) cost O(n^2) key comparisons,
  // minutes of work, found by fuzz_json (docs/robustness.md). 65,536 is num_labels' upper bound.
  auto config = albertner::model_config_from_hf_json(*albertner::parse_json("{\"num_labels\": 65536}"));
  REQUIRE(config.ok());
  CHECK(config->num_labels() == 65536);
  const albertner::Json written = albertner::model_config_to_json(*config);
  const albertner::Json* id2label = written.find("id2label");
  REQUIRE(id2label);
  CHECK(id2label->size() == 65536);
  CHECK(id2label->members().back().first == "65535");
  CHECK(id2label->members().back().second.as_string() == "LABEL_65535");
  CHECK_ERROR(albertner::model_config_from_hf_json(*albertner::parse_json("{\"num_labels\": 65537}")), errc::config,
              "num_labels is 65537, not an integer in [1, 65536]");
}

TEST_CASE("bad input: a size in config.json that is not an integer") {
  const auto j = with(small_config_json(), "num_hidden_layers", albertner::Json::make_number(2.5, false, 0));
  CHECK_ERROR(convert(hf_folder("fraction", j, albertner_test::synthetic_weights(albertner_test::small_config(22)))),
              errc::config, "num_hidden_layers is 2.5, not an integer");
}

// =============================================================================================
// non-finite weights: the converter refuses them (errc::format naming tensor and first index)

TEST_CASE("bad input: NaN in a checkpoint's weights") {
  const std::string name = "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"; // [6, 8]
  const std::string dir =
      hf_folder("nan", small_config_json(), weights_with(name, 13, std::numeric_limits<float>::quiet_NaN()));
  CHECK_ERROR(convert(dir), errc::format, "tensor '" + name + "' holds NaN at index 13 ([1, 5])");
  CHECK_FALSE(exists(dir + "/out.safetensors"));
}

TEST_CASE("bad input: infinity in a checkpoint's weights") {
  const std::string name = "classifier.bias";
  CHECK_ERROR(convert(hf_folder("inf", small_config_json(), weights_with(name, 8, -INFINITY))), errc::format,
              "tensor 'classifier.bias' holds -Inf at index 8 ([8])");
}

// =============================================================================================
// pytorch_model.bin: hostile pickles are refused at the GLOBAL opcode and nothing runs

TEST_CASE("bad input: a pickle calling os.system") {
  const std::string s = sentinel("os");
  CHECK_ERROR(read_bin(evil_checkpoint("os", "system", "touch " + s)), errc::security,
              "global 'os.system' is not in the allow-list");
  CHECK_FALSE(exists(s));
}

TEST_CASE("bad input: a pickle calling posix.system") {
  const std::string s = sentinel("posix");
  CHECK_ERROR(read_bin(evil_checkpoint("posix", "system", "touch " + s)), errc::security,
              "global 'posix.system' is not in the allow-list");
  CHECK_FALSE(exists(s));
}

TEST_CASE("bad input: a pickle calling builtins.eval, converted from a model folder") {
  const std::string s = sentinel("eval");
  const std::string dir = hf_folder("eval", small_config_json(), {});
  ::unlink((dir + "/model.safetensors").c_str());
  write_file(dir + "/pytorch_model.bin",
             evil_checkpoint("builtins", "eval", "__import__('os').system('touch " + s + "')"));
  CHECK_ERROR(convert(dir), errc::security, "global 'builtins.eval' is not in the allow-list");
  CHECK_FALSE(exists(s));
  CHECK_FALSE(exists(dir + "/out.safetensors"));
}

TEST_CASE("bad input: a pickle calling subprocess.Popen") {
  const std::string s = sentinel("subprocess");
  albertner_test::Pickle p; // subprocess.Popen(["touch", s]) through STACK_GLOBAL
  p.proto(4).short_str("subprocess").short_str("Popen").op(0x93).op(']').mark().str("touch").str(s).op('e');
  p.op(0x85).reduce().stop();
  CHECK_ERROR(read_bin(albertner_test::checkpoint(p.b, {})), errc::security,
              "global 'subprocess.Popen' is not in the allow-list");
  CHECK_FALSE(exists(s));
}

TEST_CASE("bad input: a pickle building millions of values is refused with bounded memory") {
  // "Na" (NONE, APPEND) repeated: 2 bytes per ~90-byte node. 8M nodes (750 MB) were allowed before.
  std::string pkl = "\x80\x02]";
  for (std::size_t i = 0; i <= (std::size_t(1) << 21); ++i) pkl += "Na";
  pkl += ".";
  CHECK_ERROR(read_bin(albertner_test::checkpoint(pkl, {})), errc::format, "pickle: more than 2097152 values at byte");
}

TEST_CASE("bad input: a zip entry declaring a size far past the end of the file") {
  std::vector<albertner_test::ZipFile> files = {{"archive/data.pkl", albertner_test::state_dict({})},
                                                {"archive/version", "3\n"}};
  files[0].declared_size = 0xFFFFFFF0;
  const std::string zip = albertner_test::make_zip(files);
  CHECK_ERROR(read_bin(zip), errc::format, "entry 'archive/data.pkl': data [");
  CHECK_ERROR(read_bin(zip), errc::format, "+4294967280) runs past the end of the file");
}

TEST_CASE("bad input: a legacy (non-zip) torch.save file") {
  const std::string legacy = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.";
  CHECK_ERROR(read_bin(legacy), errc::unsupported, "legacy (pre-1.6, non-zip) torch.save format is not supported");
}

TEST_CASE("bad input: a weights file that is neither zip nor pickle") {
  CHECK_ERROR(read_bin("<html>404 Not Found</html>"), errc::format, "not a PyTorch checkpoint (no zip signature");
}

// =============================================================================================
// tokenizer models

TEST_CASE("bad input: spiece.model bytes that are not a sentencepiece model") {
  const std::string junk = "this is not a protobuf";
  CHECK_ERROR(Tokenizer::from_spiece_bytes(junk.data(), junk.size(), {}), errc::format, "spiece model: ");
}

TEST_CASE("bad input: a spiece.model piece holding a NUL byte (sentencepiece's trie builder would throw)") {
  // Found by fuzz_safetensors in CI: the piece "a" (id 9) turned into "\0" by one mutated byte.
  std::string spiece = albertner_test::handmade_spiece();
  const std::size_t at =
      spiece.find(std::string("\x0A\x01"
                              "a",
                              3));
  REQUIRE(at != std::string::npos);
  spiece[at + 2] = '\0';
  CHECK_ERROR(Tokenizer::from_spiece_bytes(spiece.data(), spiece.size(), {}), errc::format,
              "spiece model: piece 9 holds a NUL byte");
  // Self-test data (ModelProto field 4) is not handed to sentencepiece, whose self-test would
  // run its normalizer: this sample ("a" must encode as "zzz") would fail it.
  std::string with_test = albertner_test::handmade_spiece();
  albertner_test::spiece_detail::bytes_field(with_test, 4, std::string("\x0A\x08\x0A\x01\x61\x12\x03zzz", 10));
  CHECK(Tokenizer::from_spiece_bytes(with_test.data(), with_test.size(), {}).ok());
}

// =============================================================================================
// text

TEST_CASE("bad input: text that is not valid UTF-8") {
  const Bytes model = small_model_file();
  auto tagger = Tagger<>::from_buffer(model.data(), model.size(), small_options());
  REQUIRE(tagger.ok());
  CHECK_ERROR(tagger->tag("Paris \xC3\x28 London"), errc::invalid_input, "text is not valid UTF-8 at byte 6");
  CHECK_ERROR(tagger->tag_batch({"fine", "ok", "bad \xFF"}), errc::invalid_input,
              "text 2: text is not valid UTF-8 at byte 4");
}

TEST_CASE("bad input: a word list with a word that is not valid UTF-8") {
  const std::string spiece = albertner_test::handmade_spiece();
  auto t = Tokenizer::from_spiece_bytes(spiece.data(), spiece.size(), {});
  REQUIRE(t.ok());
  CHECK_ERROR(t->encode_words({"john", "\xED\xA0\x80"}), errc::invalid_input,
              "word 1: text is not valid UTF-8 at byte 0");
}

TEST_CASE("extreme input: empty text gives no entities, not an error") {
  const Bytes model = small_model_file();
  auto tagger = Tagger<>::from_buffer(model.data(), model.size(), small_options());
  REQUIRE(tagger.ok());
  auto entities = tagger->tag("");
  REQUIRE(entities.ok());
  CHECK(entities->empty());
}

TEST_CASE("extreme input: whitespace-only text gives no entities") {
  const Bytes model = small_model_file();
  auto tagger = Tagger<>::from_buffer(model.data(), model.size(), small_options());
  REQUIRE(tagger.ok());
  auto entities = tagger->tag(" \t\n\r\xE2\x80\x83\xC2\xA0 ");
  REQUIRE(entities.ok());
  CHECK(entities->empty());
}

TEST_CASE("extreme input: a 1 MB text runs through windows and finds entities up to its end") {
  const Bytes* model = tiny_model();
  if (!model) return;
  TaggerOptions options;
  options.overlap = 16;
  auto tagger = Tagger<>::from_buffer(model->data(), model->size(), options);
  REQUIRE(tagger.ok());
  const std::string sentence =
      "Peter Blackburn of the European Commission said in Brussels on Thursday that Germany "
      "would lead . ";
  std::string text;
  while (text.size() < (std::size_t(1) << 20)) text += sentence;
  auto entities = tagger->tag(text);
  REQUIRE(entities.ok());
  REQUIRE_FALSE(entities->empty());
  const Entity& last = entities->back();
  INFO("last entity at byte " << last.byte_start << " of " << text.size());
  CHECK(last.byte_start + 2 * sentence.size() >= text.size());
  CHECK(last.byte_end <= text.size());
  CHECK(last.text == text.substr(last.byte_start, last.byte_end - last.byte_start));
}

TEST_CASE("extreme input: a batch of 10,000 texts returns 10,000 results") {
  const Bytes* model = tiny_model();
  if (!model) return;
  TaggerOptions options;
  options.overlap = 16;
  options.batch_size = 32;
  auto tagger = Tagger<>::from_buffer(model->data(), model->size(), options);
  REQUIRE(tagger.ok());
  std::vector<std::string> texts;
  for (int i = 0; i < 10000; ++i)
    texts.push_back(i % 3 == 0 ? "" : "John Smith " + std::to_string(i) + " visited Paris .");
  auto all = tagger->tag_batch(texts);
  REQUIRE(all.ok());
  CHECK(all->size() == 10000);
  for (std::size_t i = 0; i < all->size(); i += 3) CHECK((*all)[i].empty()); // the empty texts
}

// =============================================================================================
// encoder input

TEST_CASE("bad input: a token id outside the vocabulary") {
  const Bytes bytes = small_model_file();
  auto model = Model::from_buffer(bytes.data(), bytes.size());
  REQUIRE(model.ok());
  auto encoder = make_encoder(*model);
  REQUIRE(encoder.ok());
  const std::int64_t ids[3] = {2, 22, 3};
  EncoderInput in;
  in.batch = 1;
  in.seq_len = 3;
  in.input_ids = ids;
  Encoder::Workspace ws;
  CHECK_ERROR(encoder->forward(in, ws), errc::invalid_input,
              "input_ids at batch row 0, position 1 is 22, out of range [0, 22)");
  const std::int64_t negative[3] = {2, -1, 3};
  in.input_ids = negative;
  CHECK_ERROR(encoder->forward(in, ws), errc::invalid_input, "position 1 is -1, out of range");
}

TEST_CASE("bad input: a sequence longer than the position table") {
  const Bytes bytes = small_model_file();
  auto model = Model::from_buffer(bytes.data(), bytes.size());
  REQUIRE(model.ok());
  auto encoder = make_encoder(*model);
  REQUIRE(encoder.ok());
  std::vector<std::int64_t> ids(17, 5);
  EncoderInput in;
  in.batch = 1;
  in.seq_len = 17;
  in.input_ids = ids.data();
  Encoder::Workspace ws;
  CHECK_ERROR(encoder->forward(in, ws), errc::invalid_input,
              "seq_len = 17 is out of range [1, 16] (max_position_embeddings)");
}

TEST_CASE("bad input: token_type_ids and attention_mask outside their ranges") {
  const Bytes bytes = small_model_file();
  auto model = Model::from_buffer(bytes.data(), bytes.size());
  REQUIRE(model.ok());
  auto encoder = make_encoder(*model);
  REQUIRE(encoder.ok());
  const std::int64_t ids[2] = {2, 3}, types[2] = {0, 2}, mask[2] = {1, 7};
  EncoderInput in;
  in.batch = 1;
  in.seq_len = 2;
  in.input_ids = ids;
  in.token_type_ids = types;
  Encoder::Workspace ws;
  CHECK_ERROR(encoder->forward(in, ws), errc::invalid_input, "token_type_ids at batch row 0, position 1 is 2");
  in.token_type_ids = nullptr;
  in.attention_mask = mask;
  CHECK_ERROR(encoder->forward(in, ws), errc::invalid_input, "attention_mask at batch row 0, position 1 is 7");
}

TEST_CASE("bad input: a Tagger window larger than the model's positions") {
  const Bytes bytes = small_model_file();
  TaggerOptions o = small_options();
  o.window = 17;
  CHECK_ERROR(Tagger<>::from_buffer(bytes.data(), bytes.size(), o), errc::invalid_input,
              "window 17 exceeds the model's 16 positions");
}
