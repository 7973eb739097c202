// The converter and the model file end to end: Hugging Face folders (golden/tiny from
// model.safetensors and from pytorch_model.bin, golden/base) converted to albertner model files,
// opened with Model::open, must reproduce every stage of Hugging Face's forward pass; and every
// way a checkpoint or a model file can be wrong ends in an error that says what and where.
#include "check_error.hpp"
#include "golden.hpp"
#include "shared.hpp"
#include "torch_zip.hpp"

#include <albertner/albertner.hpp>
#include <albertner/tooling/safetensors_writer.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

using albertner::ConvertOptions;
using albertner::ConvertReport;
using albertner::dtype;
using albertner::errc;
using albertner::Model;
using albertner::SafeTensors;
using albertner::SafeTensorsWriter;
using albertner::TensorView;
using albertner_test::shared_path;
using albertner_test::TempDir;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool any_note_contains(const ConvertReport& r, const std::string& needle) {
  for (const std::string& n : r.notes)
    if (contains(n, needle)) return true;
  return false;
}

std::string all_notes(const ConvertReport& r) {
  std::string s;
  for (const std::string& n : r.notes) s += n + "\n";
  return s;
}

/// The names of the entries of `folder` ("." and ".." left out).
std::set<std::string> list_folder(const std::string& folder) {
  std::set<std::string> names;
  if (DIR* d = ::opendir(folder.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.insert(n);
    }
    ::closedir(d);
  }
  return names;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE_MESSAGE(f, "cannot write " << path);
  REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  std::fclose(f);
}

/// File bytes in 8-byte-aligned memory (from_buffer keeps pointers to the floats in it).
struct AlignedBytes {
  std::vector<std::uint64_t> words;
  std::size_t size = 0;
  explicit AlignedBytes(const std::string& bytes) : words((bytes.size() + 7) / 8), size(bytes.size()) {
    if (size) std::memcpy(words.data(), bytes.data(), size);
  }
  const void* data() const { return words.data(); }
};

/// One tensor as a test rewrites it.
struct Entry {
  std::string name;
  dtype type;
  std::vector<std::int64_t> shape;
  std::string bytes;
};

std::vector<Entry> entries_of(const SafeTensors& st) {
  std::vector<Entry> out;
  for (const TensorView& t : st.tensors())
    out.push_back({t.name, t.type, t.shape, std::string(reinterpret_cast<const char*>(t.data), t.nbytes)});
  return out;
}

void write_safetensors(const std::string& path, const std::vector<Entry>& entries,
                       const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  SafeTensorsWriter w;
  for (const Entry& e : entries) {
    auto added = w.add(e.name, e.type, e.shape, e.bytes.data(), e.bytes.size());
    REQUIRE_MESSAGE(added.ok(), (added.ok() ? "" : added.error().what()));
  }
  for (const auto& kv : metadata) w.set_metadata(kv.first, kv.second);
  auto written = w.write(path);
  REQUIRE_MESSAGE(written.ok(), (written.ok() ? "" : written.error().what()));
}

std::vector<Entry> tiny_hf_entries() {
  auto st = SafeTensors::open(shared_path("golden/tiny/model.safetensors"));
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().what()));
  return entries_of(*st);
}

/// golden/tiny's config.json changed by `edit`.
std::string tiny_config_with(const std::function<void(albertner::Json&)>& edit) {
  auto j = albertner::parse_json(albertner_test::read_text(shared_path("golden/tiny/config.json")));
  REQUIRE(j.ok());
  edit(*j);
  return j->dump();
}

void remove_member(albertner::Json& j, const std::string& key) {
  auto& m = j.members();
  m.erase(std::remove_if(m.begin(), m.end(), [&](const albertner::Json::Member& x) { return x.first == key; }),
          m.end());
}

/// A Hugging Face folder in `dir/name`: golden/tiny's tokenizer files linked, config.json and the
/// weights as given (empty config: golden/tiny's own, linked; no weights: golden/tiny's
/// model.safetensors linked, unless `no_weights`).
std::string make_tiny_folder(const TempDir& dir, const std::string& name, const std::string& config_json,
                             const std::vector<Entry>* weights, bool no_weights = false) {
  const std::string folder = dir / name;
  REQUIRE(::mkdir(folder.c_str(), 0777) == 0);
  std::vector<std::string> skip = {"pytorch_model.bin"};
  if (weights || no_weights) skip.push_back("model.safetensors");
  if (!config_json.empty()) skip.push_back("config.json");
  albertner_test::link_fixture_files("tiny", folder, skip);
  if (!config_json.empty()) write_file(folder + "/config.json", config_json);
  if (weights) write_safetensors(folder + "/model.safetensors", *weights);
  return folder;
}

/// The fixtures converted once for the whole program.
struct Converted {
  TempDir dir{"converted"};
  std::string tiny_st, tiny_bin, base;
  ConvertReport tiny_st_report, tiny_bin_report, base_report;
  bool have_base = false;

  Converted() {
    tiny_st = dir / "tiny-from-safetensors.albertner";
    tiny_bin = dir / "tiny-from-bin.albertner";
    tiny_st_report =
        albertner_test::convert_or_fail(shared_path("golden/tiny"), tiny_st, ConvertOptions{"model.safetensors", {}});
    tiny_bin_report =
        albertner_test::convert_or_fail(shared_path("golden/tiny"), tiny_bin, ConvertOptions{"pytorch_model.bin", {}});
    if (albertner_test::have_shared("golden/base")) {
      base = dir / "base.albertner";
      base_report =
          albertner_test::convert_or_fail(shared_path("golden/base"), base, ConvertOptions{"model.safetensors", {}});
      have_base = true;
    }
  }
};

Converted& converted() {
  static Converted c;
  return c;
}

Model open_or_fail(const std::string& path) {
  auto m = Model::open(path);
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().what()));
  return std::move(m).value();
}

/// The converted model's config and tokenizer options are the Hugging Face folder's.
void check_config_matches(const Model& model, const std::string& fixture, bool whitespace_split) {
  auto want =
      albertner_test::config_from_text(albertner_test::read_text(shared_path("golden/" + fixture + "/config.json")));
  REQUIRE(want.ok());
  const albertner::ModelConfig& got = model.config();
  CHECK(got.vocab_size == want->vocab_size);
  CHECK(got.embedding_size == want->embedding_size);
  CHECK(got.hidden_size == want->hidden_size);
  CHECK(got.num_attention_heads == want->num_attention_heads);
  CHECK(got.intermediate_size == want->intermediate_size);
  CHECK(got.num_hidden_layers == want->num_hidden_layers);
  CHECK(got.num_hidden_groups == want->num_hidden_groups);
  CHECK(got.inner_group_num == want->inner_group_num);
  CHECK(got.max_position_embeddings == want->max_position_embeddings);
  CHECK(got.type_vocab_size == want->type_vocab_size);
  CHECK(got.layer_norm_eps == want->layer_norm_eps);
  CHECK(got.hidden_act == want->hidden_act);
  CHECK(got.labels == want->labels);
  CHECK(model.format_version() == albertner::kModelFormatVersion);
  CHECK(model.tokenizer_options().lowercase);
  CHECK_FALSE(model.tokenizer_options().keep_accents);
  CHECK(model.tokenizer_options().whitespace_split == whitespace_split);
  CHECK(model.tokenizer_options().model_max_length == 512);
  // The spiece.model bytes are stored as they are.
  const std::string spiece = albertner_test::read_text(shared_path("golden/" + fixture + "/spiece.model"));
  REQUIRE(model.spiece_model().nbytes == spiece.size());
  CHECK(std::memcmp(model.spiece_model().data, spiece.data(), spiece.size()) == 0);
}

/// Logits of case 1 of golden/<fixture> (one unpadded row) through `model`.
std::vector<float> case_logits(const Model& model, const std::string& fixture) {
  auto expected = SafeTensors::open(shared_path("golden/" + fixture + "/expected.safetensors"));
  REQUIRE(expected.ok());
  const TensorView* ids_view = expected->find("case1.input_ids");
  REQUIRE(ids_view);
  const std::vector<std::int64_t> ids = albertner_test::copy_of<std::int64_t>(*ids_view);
  auto encoder = albertner::make_encoder(model);
  REQUIRE_MESSAGE(encoder.ok(), (encoder.ok() ? "" : encoder.error().what()));
  albertner::EncoderInput in;
  in.batch = 1;
  in.seq_len = static_cast<std::int64_t>(ids.size());
  in.input_ids = ids.data();
  albertner::Encoder::Workspace ws;
  auto out = encoder->forward(in, ws);
  REQUIRE(out.ok());
  return std::vector<float>(out->logits,
                            out->logits + ids.size() * static_cast<std::size_t>(model.config().num_labels()));
}

// F16/BF16 by truncation, decoded independently of the library.
std::uint16_t f16_truncate(float x) {
  std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const double a = std::fabs(static_cast<double>(x));
  if (a < std::ldexp(1.0, -24)) return sign;
  int e = std::ilogb(a);
  REQUIRE(e <= 15);
  if (e < -14)
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::floor(a / std::ldexp(1.0, -24))));
  const auto m = static_cast<std::uint16_t>(std::floor((a / std::ldexp(1.0, e) - 1.0) * 1024.0));
  return static_cast<std::uint16_t>(sign | ((e + 15) << 10) | m);
}
double f16_value(std::uint16_t h) {
  const int exp = (h >> 10) & 0x1f, m = h & 0x3ff;
  const double v = exp == 0 ? std::ldexp(double(m), -24) : std::ldexp(double(1024 + m), exp - 25);
  return (h & 0x8000) ? -v : v;
}

const std::string kWordEmbeddings = "albert.embeddings.word_embeddings.weight";
const std::string kClassifierWeight = "classifier.weight";
const std::string kFfnWeight = "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight";

} // namespace

// ---- converted golden fixtures against Hugging Face ---------------------------------------------

TEST_CASE("converted golden tiny (model.safetensors and pytorch_model.bin) matches Hugging Face at every stage") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  Converted& c = converted();

  // The two sources hold the same tensors, so the two conversions are the same file.
  const std::string a = albertner_test::read_text(c.tiny_st), b = albertner_test::read_text(c.tiny_bin);
  REQUIRE(!a.empty());
  CHECK(a.size() == b.size());
  CHECK(a == b);
  CHECK(c.tiny_st_report.file_bytes == a.size());
  CHECK(contains(c.tiny_bin_report.weights_path, "pytorch_model.bin"));
  CHECK(contains(c.tiny_st_report.weights_path, "model.safetensors"));
  // No tokenizer.json in golden/tiny: the Hub pre-tokenizer, said in a note.
  CHECK(any_note_contains(c.tiny_st_report, "no tokenizer.json"));
  // HF <4.31 state dicts carry the position_ids buffer, which the classifier does not use.
  CHECK(any_note_contains(c.tiny_st_report, "albert.embeddings.position_ids"));
  CHECK_FALSE(any_note_contains(c.tiny_st_report, "generic label names"));
  MESSAGE("tiny converted file: " << a.size() << " bytes");

  for (const std::string* path : {&c.tiny_st, &c.tiny_bin}) {
    const std::string name =
        path == &c.tiny_st ? "converted tiny (model.safetensors)" : "converted tiny (pytorch_model.bin)";
    CAPTURE(name);
    Model model = open_or_fail(*path);
    check_config_matches(model, "tiny", true);
    auto encoder = albertner::make_encoder(model);
    REQUIRE_MESSAGE(encoder.ok(), (encoder.ok() ? "" : encoder.error().what()));
    albertner_test::check_golden(name, "tiny", *encoder, 1e-4);
  }
}

TEST_CASE("converted golden base matches Hugging Face at every stage; the shared layer is stored once") {
  if (!albertner_test::have_shared("golden/base")) return;
  Converted& c = converted();
  REQUIRE(c.have_base);
  Model model = open_or_fail(c.base);
  check_config_matches(model, "base", true);

  // Size: the 25 weights in F32 (the single shared layer once) plus spiece.model.
  const std::size_t bytes = model.tensors().file_size();
  MESSAGE("base converted file: " << bytes << " bytes (" << double(bytes) / (1024.0 * 1024.0) << " MiB), "
                                  << c.base_report.parameters << " parameters, " << c.base_report.tensors_written
                                  << " tensors");
  CHECK(bytes <= 47185920u);
  CHECK(c.base_report.file_bytes == bytes);

  auto hf = SafeTensors::open(shared_path("golden/base/model.safetensors"));
  REQUIRE(hf.ok());
  std::multiset<std::string> names;
  for (const TensorView& t : model.tensors().tensors()) names.insert(t.name);
  std::multiset<std::string> want;
  for (const TensorView& t : hf->tensors())
    if (t.name != "albert.embeddings.position_ids") want.insert(t.name);
  CHECK(want.size() == 25);
  want.insert(albertner::model_keys::spiece_model);
  CHECK(names == want); // exactly one tensor per name: nothing repeated per layer
  CHECK(model.tensors().tensors().size() == 26);
  CHECK(c.base_report.tensors_written == 26);
  for (const std::string& n : names) CHECK_MESSAGE(!contains(n, "albert_layer_groups.1"), n);

  // Weights are stored bit for bit, as F32; the parameter count adds up.
  std::size_t parameters = 0;
  for (const TensorView& t : hf->tensors()) {
    if (t.name == "albert.embeddings.position_ids") continue;
    CAPTURE(t.name);
    const TensorView* got = model.tensors().find(t.name);
    REQUIRE(got);
    CHECK(got->type == dtype::f32);
    CHECK(got->shape == t.shape);
    REQUIRE(got->nbytes == t.nbytes);
    CHECK(std::memcmp(got->data, t.data, t.nbytes) == 0);
    parameters += static_cast<std::size_t>(t.numel());
  }
  CHECK(c.base_report.parameters == parameters);

  auto encoder = albertner::make_encoder(model);
  REQUIRE_MESSAGE(encoder.ok(), (encoder.ok() ? "" : encoder.error().what()));
  albertner_test::check_golden("converted base", "base", *encoder, 5e-4);
}

namespace {
/// The converted golden/base re-written into `dir` with its matrices as `matrices`.
Model base_as(const TempDir& dir, dtype matrices, ConvertReport& report) {
  Converted& c = converted();
  REQUIRE(c.have_base);
  ConvertOptions options;
  options.matrices = matrices;
  const std::string path = dir / ("base-as-" + std::string(albertner::dtype_name(matrices)) + ".albertner");
  auto written = albertner::convert_model_file(c.base, path, options);
  REQUIRE_MESSAGE(written.ok(), (written.ok() ? "" : written.error().what()));
  report = std::move(written).value();
  return open_or_fail(path);
}

struct GoldenAgreement {
  double logit_err = 0, logit_scale = 0;
  std::size_t tokens = 0, agree = 0;
};

/// `model` on every case of golden/base against Hugging Face's fp32 logits: the largest error on
/// real tokens and how many of them keep their argmax label (all 409 real tokens, checked).
GoldenAgreement golden_base_agreement(const Model& model, const std::string& name) {
  auto expected = SafeTensors::open(shared_path("golden/base/expected.safetensors"));
  REQUIRE(expected.ok());
  auto encoder = albertner::make_encoder(model);
  REQUIRE_MESSAGE(encoder.ok(), (encoder.ok() ? "" : encoder.error().what()));
  albertner::Encoder::Workspace ws;
  const std::int64_t L = model.config().num_labels();
  GoldenAgreement g;
  for (int n = 0; n < 5; ++n) {
    const std::string p = "case" + std::to_string(n) + ".";
    const TensorView* ids_view = expected->find(p + "input_ids");
    REQUIRE(ids_view);
    const std::vector<std::int64_t> ids = albertner_test::copy_of<std::int64_t>(*ids_view);
    const std::vector<std::int64_t> mask = albertner_test::copy_of<std::int64_t>(*expected->find(p + "attention_mask"));
    const std::vector<std::int64_t> types =
        albertner_test::copy_of<std::int64_t>(*expected->find(p + "token_type_ids"));
    const std::vector<double> want = albertner_test::values_of(*expected->find(p + "logits"));
    albertner::EncoderInput in;
    in.batch = ids_view->shape[0];
    in.seq_len = ids_view->shape[1];
    in.input_ids = ids.data();
    in.attention_mask = mask.data();
    in.token_type_ids = types.data();
    auto out = encoder->forward(in, ws);
    REQUIRE(out.ok());
    g.logit_err = std::max(g.logit_err, albertner_test::max_error_real(out->logits, want, mask, L));
    for (std::size_t r = 0; r < mask.size(); ++r) {
      if (!mask[r]) continue;
      ++g.tokens;
      for (std::int64_t k = 0; k < L; ++k) g.logit_scale = std::max(g.logit_scale, std::fabs(want[r * L + k]));
      g.agree += albertner_test::argmax(out->logits + r * L, out->logits + (r + 1) * L) ==
                 albertner_test::argmax(want.begin() + r * L, want.begin() + (r + 1) * L);
    }
  }
  const bool int8 = model.weight_dtype() == dtype::i8;
  const std::string kernels = int8 ? albertner::int8_kernel_name(albertner::int8_kernel())
                                   : albertner::kernel_isa_name(albertner::kernel_isa());
  MESSAGE(name << " golden base (" << kernels << " kernels): max abs logits error " << g.logit_err
               << " (largest |logit| " << g.logit_scale << "), argmax agrees on " << g.agree << " of " << g.tokens
               << " tokens");
  CHECK(g.tokens == 409);
  return g;
}
} // namespace

TEST_CASE(
    "bf16 golden base: half the bytes; logits near Hugging Face's fp32 and the same labels on 99% of "
    "tokens; back to F32 exactly") {
  if (!albertner_test::have_shared("golden/base")) return;
  using albertner::detail::bf16_from_f32;
  using albertner::detail::f32_from_bf16;
  TempDir dir("bf16");
  ConvertReport report;
  Model bf16 = base_as(dir, dtype::bf16, report);
  Model f32 = open_or_fail(converted().base);
  ConvertOptions options;
  const std::size_t f32_bytes = f32.tensors().file_size(), bf16_bytes = bf16.tensors().file_size();
  MESSAGE("base as BF16: " << bf16_bytes << " bytes (" << double(bf16_bytes) / 1e6 << " MB), F32: " << f32_bytes
                           << " bytes");
  CHECK(report.file_bytes == bf16_bytes);
  CHECK(bf16_bytes <= 23000000u); // the 23 MB
  CHECK(double(bf16_bytes) <= 0.51 * double(f32_bytes));
  CHECK(bf16.weight_dtype() == dtype::bf16);
  CHECK(f32.weight_dtype() == dtype::f32);
  CHECK(bf16.config().labels == f32.config().labels);

  // Matrices rounded to nearest even, everything else kept bit for bit.
  for (const TensorView& t : f32.tensors().tensors()) {
    CAPTURE(t.name);
    const TensorView* got = bf16.tensors().find(t.name);
    REQUIRE(got);
    CHECK(got->shape == t.shape);
    if (t.type != dtype::f32 || t.shape.size() != 2) {
      CHECK(got->type == t.type);
      REQUIRE(got->nbytes == t.nbytes);
      CHECK(std::memcmp(got->data, t.data, t.nbytes) == 0);
      continue;
    }
    REQUIRE(got->type == dtype::bf16);
    const std::vector<float> want = albertner_test::copy_of<float>(t);
    const std::vector<std::uint16_t> narrow = albertner_test::copy_of<std::uint16_t>(*got);
    std::size_t same = 0;
    for (std::size_t i = 0; i < want.size(); ++i) same += narrow[i] == bf16_from_f32(want[i]);
    CHECK(same == want.size());
  }

  // BF16 -> F32 widens exactly.
  options.matrices = dtype::f32;
  REQUIRE(albertner::convert_model_file(dir / "base-as-BF16.albertner", dir / "widened.albertner", options).ok());
  Model widened = open_or_fail(dir / "widened.albertner");
  CHECK(widened.weight_dtype() == dtype::f32);
  for (const TensorView& t : bf16.tensors().tensors()) {
    if (t.type != dtype::bf16) continue;
    CAPTURE(t.name);
    const TensorView* got = widened.tensors().find(t.name);
    REQUIRE((got && got->type == dtype::f32));
    const std::vector<std::uint16_t> narrow = albertner_test::copy_of<std::uint16_t>(t);
    const std::vector<float> wide = albertner_test::copy_of<float>(*got);
    std::size_t same = 0;
    for (std::size_t i = 0; i < narrow.size(); ++i) same += wide[i] == f32_from_bf16(narrow[i]);
    CHECK(same == narrow.size());
  }

  // Against Hugging Face's fp32 outputs on every case: the error is bf16's, the labels the same.
  const GoldenAgreement g = golden_base_agreement(bf16, "bf16");
  CHECK(double(g.agree) >= 0.99 * double(g.tokens));
  CHECK(g.logit_err <= 0.1); // measured 0.035 to 0.048 (the logits reach 4.7)
}

TEST_CASE("int8 golden base: a quarter of the bytes; the same labels as Hugging Face's fp32 on 97% of tokens") {
  if (!albertner_test::have_shared("golden/base")) return;
  TempDir dir("int8");
  ConvertReport report;
  Model int8 = base_as(dir, dtype::i8, report);
  Model f32 = open_or_fail(converted().base);
  const std::size_t bytes = int8.tensors().file_size();
  MESSAGE("base as int8: " << bytes << " bytes (" << double(bytes) / 1e6 << " MB)");
  CHECK(report.file_bytes == bytes);
  CHECK(int8.weight_dtype() == dtype::i8);
  CHECK(report.parameters == converted().base_report.parameters);

  // Each matrix row: int8 values times the row's scale, within half a step of the F32 weights.
  std::size_t matrices = 0;
  for (const TensorView& t : f32.tensors().tensors()) {
    if (t.shape.size() != 2 || t.type != dtype::f32) continue;
    CAPTURE(t.name);
    ++matrices;
    const TensorView* q = int8.tensors().find(t.name);
    const TensorView* scale = int8.tensors().find(t.name + "_scale");
    REQUIRE((q && scale && q->type == dtype::i8 && scale->type == dtype::f32));
    REQUIRE(scale->shape == std::vector<std::int64_t>{t.shape[0]});
    const std::vector<float> w = albertner_test::copy_of<float>(t), s = albertner_test::copy_of<float>(*scale);
    const auto* v = reinterpret_cast<const std::int8_t*>(q->data);
    std::size_t outside = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double step = s[i / std::size_t(t.shape[1])];
      outside += std::fabs(double(v[i]) * step - w[i]) > 0.5001 * step;
    }
    CHECK(outside == 0);
  }
  CHECK(matrices == 11); // three embedding tables, the projection, six Linear layers, the classifier
  // Only F32 and BF16 files re-convert: int8 has lost what a wider copy would need.
  CHECK_ERROR(albertner::convert_model_file(dir / "base-as-I8.albertner", dir / "again.albertner"), errc::unsupported,
              "re-convert int8 models from F32");

  const GoldenAgreement g = golden_base_agreement(int8, "int8");
  CHECK(double(g.agree) >= 0.97 * double(g.tokens));
}

TEST_CASE("Model::from_buffer on the file's bytes gives the same logits as Model::open") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  Converted& c = converted();
  std::vector<std::pair<std::string, std::string>> files = {{"tiny", c.tiny_st}};
  if (c.have_base) files.push_back({"base", c.base});
  for (const auto& f : files) {
    CAPTURE(f.first);
    const AlignedBytes bytes(albertner_test::read_text(f.second));
    auto from_buffer = Model::from_buffer(bytes.data(), bytes.size);
    REQUIRE_MESSAGE(from_buffer.ok(), (from_buffer.ok() ? "" : from_buffer.error().what()));
    Model opened = open_or_fail(f.second);
    // Its weights are views into the caller's buffer, not copies.
    const TensorView* w = from_buffer->tensors().find(kWordEmbeddings);
    REQUIRE(w);
    const auto* begin = static_cast<const std::uint8_t*>(bytes.data());
    CHECK((w->data >= begin && w->data < begin + bytes.size));
    CHECK(from_buffer->config().labels == opened.config().labels);
    const std::vector<float> x = case_logits(*from_buffer, f.first), y = case_logits(opened, f.first);
    CHECK(x.size() > 0);
    CHECK(x == y);
  }
}

// ---- converter inputs ----------------------------------------------------------------------------

TEST_CASE("converter: missing files") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  TempDir dir("convert-missing");
  const std::string out = dir / "out.albertner";

  SUBCASE("no config.json") {
    const std::string folder = dir / "no-config";
    REQUIRE(::mkdir(folder.c_str(), 0777) == 0);
    albertner_test::link_fixture_files("tiny", folder, {"config.json"});
    CHECK_ERROR(albertner::convert_hf_checkpoint(folder, out), errc::io, "config.json");
  }
  SUBCASE("no weights") {
    const std::string folder = make_tiny_folder(dir, "no-weights", "", nullptr, true);
    CHECK_ERROR(albertner::convert_hf_checkpoint(folder, out), errc::io, "pytorch_model.bin");
    CHECK_ERROR(albertner::convert_hf_checkpoint(folder, out, ConvertOptions{"model.safetensors", {}}), errc::io,
                "model.safetensors");
  }
  SUBCASE("no spiece.model") {
    const std::string folder = dir / "no-spiece";
    REQUIRE(::mkdir(folder.c_str(), 0777) == 0);
    albertner_test::link_fixture_files("tiny", folder, {"spiece.model"});
    CHECK_ERROR(albertner::convert_hf_checkpoint(folder, out), errc::io, "spiece.model");
  }
  CHECK_FALSE(exists(out));
}

TEST_CASE("converter: a missing tensor or a wrong shape names the tensor") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  TempDir dir("convert-tensors");
  const std::string out = dir / "out.albertner";
  std::vector<Entry> weights = tiny_hf_entries();

  SUBCASE("missing classifier.bias") {
    weights.erase(
        std::remove_if(weights.begin(), weights.end(), [](const Entry& e) { return e.name == "classifier.bias"; }),
        weights.end());
    const std::string folder = make_tiny_folder(dir, "missing", "", &weights);
    CHECK_ERROR(albertner::convert_hf_checkpoint(folder, out), errc::missing, "'classifier.bias'");
  }
  SUBCASE("missing a shared-layer tensor") {
    const std::string victim = "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.key.bias";
    weights.erase(std::remove_if(weights.begin(), weights.end(), [&](const Entry& e) { return e.name == victim; }),
                  weights.end());
    const std::string folder = make_tiny_folder(dir, "missing-layer", "", &weights);
    CHECK_ERROR(albertner::convert_hf_checkpoint(folder, out), errc::missing, victim);
  }
  SUBCASE("classifier.weight transposed") {
    for (Entry& e : weights)
      if (e.name == kClassifierWeight) std::swap(e.shape[0], e.shape[1]);
    const std::string folder = make_tiny_folder(dir, "shape", "", &weights);
    CHECK_ERROR(albertner::convert_hf_checkpoint(folder, out), errc::shape, "'" + kClassifierWeight + "'");
  }
  SUBCASE("an integer weight") {
    for (Entry& e : weights)
      if (e.name == "classifier.bias") e.type = dtype::i32;
    const std::string folder = make_tiny_folder(dir, "dtype", "", &weights);
    auto r = albertner::convert_hf_checkpoint(folder, out);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().what());
    CHECK(contains(r.error().message(), "classifier.bias"));
  }
  CHECK_FALSE(exists(out));
}

TEST_CASE("converter: config errors") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  TempDir dir("convert-config");
  const std::string out = dir / "out.albertner";

  SUBCASE("unknown hidden_act") {
    const std::string folder = make_tiny_folder(dir, "act", tiny_config_with([](albertner::Json& j) {
                                                  j.set("hidden_act", albertner::Json::make_string("swish"));
                                                }),
                                                nullptr);
    CHECK_ERROR(albertner::convert_hf_checkpoint(folder, out, ConvertOptions{"pytorch_model.bin", {}}),
                errc::unsupported, "swish");
  }
  SUBCASE("heads do not divide the hidden size") {
    const std::string folder =
        make_tiny_folder(dir, "heads", tiny_config_with([](albertner::Json& j) {
                           j.set("num_attention_heads", albertner::Json::make_number(5, true, 5));
                         }),
                         nullptr);
    CHECK_ERROR(albertner::convert_hf_checkpoint(folder, out), errc::config, "num_attention_heads");
  }
  SUBCASE("--labels with the wrong count") {
    ConvertOptions options;
    options.labels = {"O", "B-PER", "I-PER"};
    CHECK_ERROR(albertner::convert_hf_checkpoint(shared_path("golden/tiny"), out, options), errc::config, "--labels");
  }
  CHECK_FALSE(exists(out));
}

TEST_CASE("converter: generic LABEL_k names are kept with a warning, --labels conll2003 replaces them") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  Converted& c = converted();
  TempDir dir("convert-labels");
  const std::string config = tiny_config_with([](albertner::Json& j) {
    remove_member(j, "id2label");
    remove_member(j, "label2id");
    j.set("num_labels", albertner::Json::make_number(9, true, 9));
  });
  const std::string folder = make_tiny_folder(dir, "generic", config, nullptr);

  const std::string generic = dir / "generic.albertner";
  ConvertReport r = albertner_test::convert_or_fail(folder, generic);
  INFO(all_notes(r));
  CHECK(any_note_contains(r, "warning: generic label names (LABEL_0"));
  CHECK(any_note_contains(r, "--labels conll2003"));
  Model m = open_or_fail(generic);
  REQUIRE(m.config().labels.size() == 9);
  CHECK(m.config().labels.front() == "LABEL_0");
  CHECK(m.config().labels.back() == "LABEL_8");

  const std::string named = dir / "named.albertner";
  ConvertOptions options;
  options.labels = albertner::conll2003_labels();
  ConvertReport r2 = albertner_test::convert_or_fail(folder, named, options);
  CHECK_FALSE(any_note_contains(r2, "generic label names"));
  CHECK(open_or_fail(named).config().labels == albertner::conll2003_labels());
  // With the names golden/tiny's config.json has, it is the same file.
  CHECK(albertner_test::read_text(named) == albertner_test::read_text(c.tiny_st));
}

TEST_CASE("converter: extra keys are ignored with a note; other spellings of the names convert to the same file") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  Converted& c = converted();
  const std::string reference = albertner_test::read_text(c.tiny_st);
  TempDir dir("convert-names");

  SUBCASE("pooler and masked-LM head") {
    std::vector<Entry> weights = tiny_hf_entries();
    const float zeros[32 * 32] = {};
    const std::string z(reinterpret_cast<const char*>(zeros), sizeof zeros);
    weights.push_back({"albert.pooler.weight", dtype::f32, {32, 32}, z});
    weights.push_back({"albert.pooler.bias", dtype::f32, {32}, z.substr(0, 128)});
    weights.push_back({"predictions.dense.weight", dtype::f32, {16, 32}, z.substr(0, 16 * 32 * 4)});
    weights.push_back({"predictions.bias", dtype::f32, {16}, z.substr(0, 64)});
    const std::string folder = make_tiny_folder(dir, "extra", "", &weights);
    const std::string out = dir / "extra.albertner";
    ConvertReport r = albertner_test::convert_or_fail(folder, out);
    INFO(all_notes(r));
    CHECK(any_note_contains(r, "ignored 5 tensor(s)")); // the four above and position_ids
    CHECK(any_note_contains(r, "albert.pooler.weight"));
    CHECK(any_note_contains(r, "predictions.dense.weight"));
    CHECK(r.tensors_written == 26);
    CHECK(albertner_test::read_text(out) == reference);
  }
  SUBCASE("no albert. prefix, LayerNorm gamma/beta") {
    std::vector<Entry> weights = tiny_hf_entries();
    std::size_t renamed_norms = 0, unprefixed = 0;
    for (Entry& e : weights) {
      if (e.name.compare(0, 7, "albert.") == 0) {
        e.name = e.name.substr(7);
        ++unprefixed;
      }
      const bool norm = contains(e.name, "LayerNorm") || contains(e.name, "layer_norm");
      if (norm && e.name.size() > 7 && e.name.compare(e.name.size() - 7, 7, ".weight") == 0) {
        e.name = e.name.substr(0, e.name.size() - 7) + ".gamma";
        ++renamed_norms;
      } else if (norm && e.name.size() > 5 && e.name.compare(e.name.size() - 5, 5, ".bias") == 0) {
        e.name = e.name.substr(0, e.name.size() - 5) + ".beta";
        ++renamed_norms;
      }
    }
    CHECK(renamed_norms == 6); // embeddings, attention and full-layer norms
    CHECK(unprefixed == 24);   // all but classifier.weight/bias, position_ids included
    const std::string folder = make_tiny_folder(dir, "legacy", "", &weights);
    const std::string out = dir / "legacy.albertner";
    albertner_test::convert_or_fail(folder, out);
    CHECK(albertner_test::read_text(out) == reference);
  }
}

TEST_CASE("converter: F16, BF16 and F64 source weights are widened to F32") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  TempDir dir("convert-widen");
  std::vector<Entry> weights = tiny_hf_entries();
  std::map<std::string, std::vector<float>> original;
  std::map<std::string, std::vector<double>> exact; // the value each narrowed weight stands for
  for (Entry& e : weights) {
    if (e.name != kWordEmbeddings && e.name != kClassifierWeight && e.name != kFfnWeight) continue;
    std::vector<float> f(e.bytes.size() / 4);
    std::memcpy(f.data(), e.bytes.data(), e.bytes.size());
    original[e.name] = f;
    std::vector<double>& want = exact[e.name];
    std::string bytes;
    for (float x : f) {
      if (e.name == kWordEmbeddings) {
        const std::uint16_t h = f16_truncate(x);
        bytes.append(reinterpret_cast<const char*>(&h), 2);
        want.push_back(f16_value(h));
      } else if (e.name == kClassifierWeight) {
        std::uint32_t bits;
        std::memcpy(&bits, &x, 4);
        const auto h = static_cast<std::uint16_t>(bits >> 16);
        bytes.append(reinterpret_cast<const char*>(&h), 2);
        bits = static_cast<std::uint32_t>(h) << 16;
        float v;
        std::memcpy(&v, &bits, 4);
        want.push_back(v);
      } else {
        const double d = x;
        bytes.append(reinterpret_cast<const char*>(&d), 8);
        want.push_back(d);
      }
    }
    e.type = e.name == kWordEmbeddings ? dtype::f16 : e.name == kClassifierWeight ? dtype::bf16 : dtype::f64;
    e.bytes = bytes;
  }
  REQUIRE(exact.size() == 3);
  const std::string folder = make_tiny_folder(dir, "narrow", "", &weights);
  const std::string out = dir / "narrow.albertner";
  ConvertReport r = albertner_test::convert_or_fail(folder, out);
  CHECK_MESSAGE(any_note_contains(r, "widened '" + kWordEmbeddings + "' from F16 to F32"), all_notes(r));
  CHECK_MESSAGE(any_note_contains(r, "widened '" + kClassifierWeight + "' from BF16 to F32"), all_notes(r));
  CHECK_MESSAGE(any_note_contains(r, "widened '" + kFfnWeight + "' from F64 to F32"), all_notes(r));

  Model m = open_or_fail(out);
  for (const auto& kv : exact) {
    CAPTURE(kv.first);
    const TensorView* t = m.tensors().find(kv.first);
    REQUIRE(t);
    CHECK(t->type == dtype::f32);
    const std::vector<float> got = albertner_test::copy_of<float>(*t);
    REQUIRE(got.size() == kv.second.size());
    const std::vector<float>& orig = original[kv.first];
    const double rel = kv.first == kWordEmbeddings     ? std::ldexp(1.0, -10)
                       : kv.first == kClassifierWeight ? std::ldexp(1.0, -7)
                                                       : 0.0;
    std::size_t exact_values = 0, within_rounding = 0;
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      exact_values += static_cast<double>(got[i]) == kv.second[i];
      const double err = std::fabs(double(got[i]) - double(orig[i]));
      worst = std::max(worst, err);
      within_rounding += err <= rel * std::fabs(double(orig[i])) + std::ldexp(1.0, -24);
    }
    MESSAGE("widened " << kv.first << ": max abs change from the F32 original " << worst);
    CHECK(exact_values == got.size());
    CHECK(within_rounding == got.size());
  }
  // Weights that were F32 stay bit-identical.
  auto hf = SafeTensors::open(shared_path("golden/tiny/model.safetensors"));
  REQUIRE(hf.ok());
  const TensorView* a = m.tensors().find("albert.embeddings.position_embeddings.weight");
  const TensorView* b = hf->find("albert.embeddings.position_embeddings.weight");
  REQUIRE((a && b && a->nbytes == b->nbytes));
  CHECK(std::memcmp(a->data, b->data, a->nbytes) == 0);
}

TEST_CASE("converter: output is written atomically") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  TempDir dir("convert-atomic");
  std::vector<Entry> weights = tiny_hf_entries();
  weights.erase(
      std::remove_if(weights.begin(), weights.end(), [](const Entry& e) { return e.name == "classifier.bias"; }),
      weights.end());
  const std::string bad = make_tiny_folder(dir, "bad", "", &weights);
  TempDir out_dir("convert-atomic-out");

  SUBCASE("a failed conversion leaves no file") {
    auto r = albertner::convert_hf_checkpoint(bad, out_dir / "model.albertner");
    CHECK_FALSE(r.ok());
    CHECK(list_folder(out_dir.path()).empty());
  }
  SUBCASE("a failed conversion keeps the previous file as it was") {
    write_file(out_dir / "model.albertner", "previous contents");
    auto r = albertner::convert_hf_checkpoint(bad, out_dir / "model.albertner");
    CHECK_FALSE(r.ok());
    CHECK(albertner_test::read_text(out_dir / "model.albertner") == "previous contents");
    CHECK(list_folder(out_dir.path()) == std::set<std::string>{"model.albertner"});
  }
  SUBCASE("a failure at the final rename removes the temporary file") {
    // The output path is a non-empty folder: everything is written, then rename() fails.
    const std::string target = out_dir / "model.albertner";
    REQUIRE(::mkdir(target.c_str(), 0777) == 0);
    write_file(target + "/keep", "x");
    auto r = albertner::convert_hf_checkpoint(shared_path("golden/tiny"), target);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().what());
    CHECK(r.error().code() == errc::io);
    CHECK(list_folder(out_dir.path()) == std::set<std::string>{"model.albertner"});
    CHECK(list_folder(target) == std::set<std::string>{"keep"});
  }
  SUBCASE("a successful conversion replaces the previous file and leaves nothing else") {
    write_file(out_dir / "model.albertner", "previous contents");
    albertner_test::convert_or_fail(shared_path("golden/tiny"), out_dir / "model.albertner");
    CHECK(albertner_test::read_text(out_dir / "model.albertner") == albertner_test::read_text(converted().tiny_st));
    CHECK(list_folder(out_dir.path()) == std::set<std::string>{"model.albertner"});
  }
}

TEST_CASE("converter: a pytorch_model.bin that calls os.system is refused and nothing runs") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  using albertner_test::Pickle;
  TempDir dir("convert-malicious");
  const std::string sentinel = dir / "pwned";
  const std::string command = "touch " + sentinel;

  // A valid tensor first, then GLOBAL os.system + (command,) + REDUCE as another entry.
  Pickle p;
  p.proto(2).empty_dict().mark().str("classifier.bias");
  albertner_test::emit_tensor(p, {"classifier.bias", "FloatStorage", "0", 9, 0, {9}, {1}});
  p.str("evil").global("os", "system").str(command).op(0x85).reduce().setitems().stop();
  const std::string zip = albertner_test::checkpoint(p.b, {{"0", albertner_test::floats(std::vector<float>(9, 0.5f))}});

  const std::string folder = make_tiny_folder(dir, "hf", "", nullptr, true);
  write_file(folder + "/pytorch_model.bin", zip);
  const std::string out = dir / "out.albertner";
  CHECK_ERROR(albertner::convert_hf_checkpoint(folder, out), errc::security, "'os.system'");
  CHECK_FALSE(exists(sentinel));
  CHECK_FALSE(exists(out));
}

// ---- model files that are not right ---------------------------------------------------------------

TEST_CASE("Model::open: not an albertner file, another format version, a missing or wrong spiece tensor") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  Converted& c = converted();

  SUBCASE("a Hugging Face model.safetensors") {
    const std::string hf = shared_path("golden/tiny/model.safetensors");
    auto m = Model::open(hf);
    REQUIRE_FALSE(m.ok());
    INFO(m.error().what());
    CHECK(m.error().code() == errc::format);
    CHECK(contains(m.error().message(), "not an albertner model file"));
    CHECK(contains(m.error().message(), "albertner convert"));
    CHECK(contains(m.error().what(), hf)); // names the file
  }
  SUBCASE("not a safetensors file at all") {
    TempDir dir("open-bad");
    write_file(dir / "x.albertner", "this is not a model");
    auto m = Model::open(dir / "x.albertner");
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code() == errc::format);
  }

  auto st = SafeTensors::open(c.tiny_st);
  REQUIRE(st.ok());
  const std::vector<Entry> entries = entries_of(*st);
  std::vector<std::pair<std::string, std::string>> metadata = st->metadata();
  TempDir dir("open-rewritten");
  const std::string path = dir / "rewritten.albertner";

  SUBCASE("rewritten unchanged, it opens") {
    write_safetensors(path, entries, metadata);
    CHECK(Model::open(path).ok());
  }
  SUBCASE("format version 2") {
    for (auto& kv : metadata)
      if (kv.first == albertner::model_keys::format_version) kv.second = "2";
    write_safetensors(path, entries, metadata);
    auto m = Model::open(path);
    REQUIRE_FALSE(m.ok());
    INFO(m.error().what());
    CHECK(m.error().code() == errc::unsupported);
    CHECK(contains(m.error().message(), "version '2'"));
  }
  SUBCASE("no format version") {
    std::vector<std::pair<std::string, std::string>> less;
    for (const auto& kv : metadata)
      if (kv.first != albertner::model_keys::format_version) less.push_back(kv);
    write_safetensors(path, entries, less);
    CHECK_ERROR(Model::open(path), errc::format, albertner::model_keys::format_version);
  }
  SUBCASE("no spiece tensor") {
    std::vector<Entry> less;
    for (const Entry& e : entries)
      if (e.name != albertner::model_keys::spiece_model) less.push_back(e);
    write_safetensors(path, less, metadata);
    CHECK_ERROR(Model::open(path), errc::missing, albertner::model_keys::spiece_model);
  }
  SUBCASE("spiece tensor of the wrong dtype") {
    std::vector<Entry> changed = entries;
    for (Entry& e : changed)
      if (e.name == albertner::model_keys::spiece_model) {
        e.type = dtype::i8;
      }
    write_safetensors(path, changed, metadata);
    CHECK_ERROR(Model::open(path), errc::shape, albertner::model_keys::spiece_model);
  }
  SUBCASE("a weight missing from the model file fails make_encoder") {
    std::vector<Entry> less;
    for (const Entry& e : entries)
      if (e.name != "classifier.bias") less.push_back(e);
    write_safetensors(path, less, metadata);
    auto m = Model::open(path);
    REQUIRE(m.ok());
    CHECK_ERROR(albertner::make_encoder(*m), errc::missing, "classifier.bias");
  }
}
