// Comparing an encoder with Hugging Face's outputs in golden/<fixture>/expected.safetensors, for
// whichever source its weights come from (the HF model.safetensors read directly, a converted
// albertner model file, ...); plus the temporary folders and fixture conversions that tests of
// the model file share.
#pragma once

#include "shared.hpp"

#include <albertner/model/config.hpp>
#include <albertner/tooling/converter.hpp>
#include <albertner/encoder/encoder.hpp>
#include <albertner/io/json.hpp>
#include <albertner/io/safetensors.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <ftw.h>
#include <unistd.h>

namespace albertner_test {

/// The whole file as a string ("" when it cannot be read).
inline std::string read_text(const std::string& path) {
  std::string text;
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  return text;
}

inline albertner::Result<albertner::ModelConfig> config_from_text(const std::string& text) {
  ALBERTNER_TRY(albertner::Json json, albertner::parse_json(text));
  return albertner::model_config_from_hf_json(json);
}

template <class T>
std::vector<T> copy_of(const albertner::TensorView& t) {
  std::vector<T> out(static_cast<std::size_t>(t.numel()));
  REQUIRE(t.nbytes == out.size() * sizeof(T));
  if (t.nbytes) std::memcpy(out.data(), t.data, t.nbytes);
  return out;
}

/// Reference values as doubles, whether the fixture stores F32 or F64.
inline std::vector<double> values_of(const albertner::TensorView& t) {
  if (t.type == albertner::dtype::f64) return copy_of<double>(t);
  REQUIRE(t.type == albertner::dtype::f32);
  std::vector<float> f = copy_of<float>(t);
  return std::vector<double>(f.begin(), f.end());
}

/// Largest |got - want| over the rows whose mask is 1.
inline double max_error_real(const float* got, const std::vector<double>& want, const std::vector<std::int64_t>& mask,
                             std::int64_t cols) {
  REQUIRE(want.size() == mask.size() * static_cast<std::size_t>(cols));
  double err = 0;
  for (std::size_t r = 0; r < mask.size(); ++r) {
    if (mask[r] != 1) continue;
    for (std::int64_t c = 0; c < cols; ++c)
      err = std::max(err, std::fabs(static_cast<double>(got[r * cols + c]) - want[r * cols + c]));
  }
  return err;
}

template <class It>
std::ptrdiff_t argmax(It first, It last) {
  return std::max_element(first, last) - first;
}

/// Copies the stages that Hugging Face's outputs hold: embeddings, projection, each iteration, head.
struct Capture {
  std::vector<float> embeddings, projection, head;
  std::vector<std::vector<float>> layers;
  static void record(void* user, albertner::Stage stage, std::int64_t index, const float* data, std::int64_t rows,
                     std::int64_t cols) {
    Capture& c = *static_cast<Capture*>(user);
    std::vector<float> copy(data, data + rows * cols);
    switch (stage) {
    case albertner::Stage::embeddings: c.embeddings = copy; break;
    case albertner::Stage::projection: c.projection = copy; break;
    case albertner::Stage::layer:
      REQUIRE(index == static_cast<std::int64_t>(c.layers.size()));
      c.layers.push_back(copy);
      break;
    case albertner::Stage::head: c.head = copy; break;
    case albertner::Stage::qkv: // inside a layer: Hugging Face's outputs hold nothing to compare
    case albertner::Stage::attention:
    case albertner::Stage::attention_output:
    case albertner::Stage::ffn_in:
    case albertner::Stage::ffn_out: break;
    }
  }
};

/// Runs every case of golden/<fixture> through `encoder` (twice: the second pass must repeat the
/// first exactly in the same workspace) and checks embeddings, all hidden states, the last
/// hidden state and the logits against Hugging Face's on real tokens within `tolerance`, the
/// argmax label of every real token, and that each row of a padded batch alone gives the same
/// logits. Reports "<name>: max abs error <family> = <value>" and returns those maxima.
inline std::map<std::string, double> check_golden(const std::string& name, const std::string& fixture,
                                                  const albertner::Encoder& encoder, double tolerance) {
  using albertner::Encoder;
  using albertner::EncoderInput;
  using albertner::TensorView;
  const std::string dir = "golden/" + fixture + "/";
  auto expected = albertner::SafeTensors::open(shared_path(dir + "expected.safetensors"));
  REQUIRE_MESSAGE(expected.ok(), (expected.ok() ? "" : expected.error().what()));
  auto cases_json = albertner::parse_json(read_text(shared_path(dir + "cases.json")));
  REQUIRE(cases_json.ok());
  const albertner::Json* cases = cases_json->find("cases");
  REQUIRE((cases && cases->is_array() && cases->size() > 0));
  const albertner::ModelConfig& config = encoder.config();

  auto want = [&](const std::string& tensor) -> const TensorView& {
    const TensorView* t = expected->find(tensor);
    REQUIRE_MESSAGE(t, "expected.safetensors lacks " << tensor);
    return *t;
  };
  const std::int64_t E = config.embedding_size, H = config.hidden_size, L = config.num_labels();
  std::map<std::string, double> worst; // stage family -> max abs error on real tokens
  auto note = [&](const std::string& family, double err) { worst[family] = std::max(worst[family], err); };

  Encoder::Workspace workspace;
  std::vector<std::vector<float>> first_logits;
  for (int pass = 0; pass < 2; ++pass) {
    const float* logits_buffer = nullptr;
    for (std::size_t n = 0; n < cases->size(); ++n) {
      const std::string p = "case" + std::to_string(n) + ".";
      CAPTURE(name);
      CAPTURE(n);
      const TensorView& ids_view = want(p + "input_ids");
      REQUIRE(ids_view.shape.size() == 2);
      const std::vector<std::int64_t> ids = copy_of<std::int64_t>(ids_view);
      const std::vector<std::int64_t> mask = copy_of<std::int64_t>(want(p + "attention_mask"));
      const std::vector<std::int64_t> types = copy_of<std::int64_t>(want(p + "token_type_ids"));
      EncoderInput in;
      in.batch = ids_view.shape[0];
      in.seq_len = ids_view.shape[1];
      in.input_ids = ids.data();
      in.attention_mask = mask.data();
      in.token_type_ids = types.data();

      Capture capture;
      auto out = encoder.forward(in, workspace, {&Capture::record, &capture});
      REQUIRE_MESSAGE(out.ok(), (out.ok() ? "" : out.error().what()));
      const std::size_t logit_count = mask.size() * static_cast<std::size_t>(L);
      if (pass == 1) {
        // The workspace already fits the largest case: no buffer moves, and results repeat exactly.
        if (logits_buffer) CHECK(out->logits == logits_buffer);
        logits_buffer = out->logits;
        CHECK(std::equal(out->logits, out->logits + logit_count, first_logits[n].begin()));
        continue;
      }
      first_logits.emplace_back(out->logits, out->logits + logit_count);

      note("embeddings", max_error_real(capture.embeddings.data(), values_of(want(p + "embeddings")), mask, E));
      note("hidden_states",
           max_error_real(capture.projection.data(), values_of(want(p + "hidden_states.00")), mask, H));
      REQUIRE(capture.layers.size() == static_cast<std::size_t>(config.num_hidden_layers));
      for (std::size_t i = 0; i < capture.layers.size(); ++i) {
        char state[48];
        std::snprintf(state, sizeof state, "hidden_states.%02zu", i + 1);
        note("hidden_states", max_error_real(capture.layers[i].data(), values_of(want(p + state)), mask, H));
      }
      note("last_hidden_state",
           max_error_real(out->last_hidden_state, values_of(want(p + "last_hidden_state")), mask, H));
      note("logits", max_error_real(out->logits, values_of(want(p + "logits")), mask, L));
      note("last_hidden_state vs fp64",
           max_error_real(out->last_hidden_state, values_of(want(p + "last_hidden_state_fp64")), mask, H));
      note("logits vs fp64", max_error_real(out->logits, values_of(want(p + "logits_fp64")), mask, L));
      CHECK(std::equal(capture.head.begin(), capture.head.end(), out->logits));

      const std::vector<double> ref = values_of(want(p + "logits"));
      for (std::size_t r = 0; r < mask.size(); ++r) {
        if (mask[r] != 1) continue;
        CAPTURE(r);
        CHECK(argmax(out->logits + r * L, out->logits + (r + 1) * L) ==
              argmax(ref.begin() + r * L, ref.begin() + (r + 1) * L));
      }

      // Padding must not leak into real tokens: each row alone, unpadded, gives the same values.
      if (in.batch > 1) {
        const std::vector<float> batched(out->logits, out->logits + logit_count);
        Encoder::Workspace single;
        for (std::int64_t b = 0; b < in.batch; ++b) {
          std::int64_t length = 0;
          while (length < in.seq_len && mask[b * in.seq_len + length] == 1) ++length;
          EncoderInput row;
          row.batch = 1;
          row.seq_len = length;
          row.input_ids = ids.data() + b * in.seq_len;
          row.token_type_ids = types.data() + b * in.seq_len;
          auto alone = encoder.forward(row, single);
          REQUIRE(alone.ok());
          double err = 0;
          for (std::int64_t i = 0; i < length * L; ++i)
            err = std::max(err, std::fabs(double(alone->logits[i]) - batched[(b * in.seq_len) * L + i]));
          note("logits, row alone vs batched", err);
        }
      }
    }
  }

  for (const auto& w : worst) MESSAGE(name << ": max abs error " << w.first << " = " << w.second);
  for (const char* family : {"embeddings", "hidden_states", "last_hidden_state", "logits"}) {
    CAPTURE(name);
    CAPTURE(family);
    CHECK(worst[family] <= tolerance);
  }
  CHECK(worst["logits, row alone vs batched"] <= tolerance);
  return worst;
}

/// The same with the weights looked up by Hugging Face state_dict name (`const TensorView*
/// (const std::string&)`, nullptr when absent) and the config read from golden/<fixture>/config.json.
template <class Lookup>
std::map<std::string, double> check_golden_lookup(const std::string& name, const std::string& fixture,
                                                  Lookup&& lookup, double tolerance) {
  auto config = config_from_text(read_text(shared_path("golden/" + fixture + "/config.json")));
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().what()));
  auto encoder = albertner::Encoder::create(*config, std::forward<Lookup>(lookup));
  REQUIRE_MESSAGE(encoder.ok(), (encoder.ok() ? "" : encoder.error().what()));
  return check_golden(name, fixture, *encoder, tolerance);
}

// ---------------------------------------------------------------------------------------------
// Temporary folders and converted fixtures.

/// A fresh folder under the build tree (mkdtemp), removed with everything in it on destruction.
class TempDir {
public:
  explicit TempDir(const std::string& tag = "tmp") {
    std::string pattern = std::string(ALBERTNER_BINARY_DIR) + "/albertner-test-" + tag + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data())) path_ = buf.data();
    REQUIRE_MESSAGE(!path_.empty(), "mkdtemp " << pattern << " failed");
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    if (!path_.empty())
      ::nftw(path_.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
             FTW_DEPTH | FTW_PHYS);
  }
  const std::string& path() const noexcept { return path_; }
  /// `path()/name`.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

/// Converts the HF folder `hf_dir` to `out`, requiring success.
inline albertner::ConvertReport convert_or_fail(const std::string& hf_dir, const std::string& out,
                                                const albertner::ConvertOptions& options = {}) {
  auto report = albertner::convert_hf_checkpoint(hf_dir, out, options);
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().what()));
  return std::move(report).value();
}

/// Makes `folder` a Hugging Face folder whose files are symbolic links to golden/<fixture>'s,
/// except those named in `skip`.
inline void link_fixture_files(const std::string& fixture, const std::string& folder,
                               const std::vector<std::string>& skip = {}) {
  for (const char* file : {"config.json", "model.safetensors", "pytorch_model.bin", "spiece.model",
                           "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    if (std::find(skip.begin(), skip.end(), file) != skip.end()) continue;
    const std::string from = shared_path("golden/" + fixture + "/" + file);
    if (::access(from.c_str(), F_OK) != 0) continue;
    REQUIRE_MESSAGE(::symlink(from.c_str(), (folder + "/" + file).c_str()) == 0, "symlink " << from);
  }
}

} // namespace albertner_test
