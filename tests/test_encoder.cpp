// The fp32 encoder against Hugging Face's outputs (golden/tiny, golden/base), against a naive
// double-precision reference on synthetic models with several groups and inner layers, and its
// error paths.
#include "check_error.hpp"
#include "golden.hpp"
#include "shared.hpp"

#include <albertner/encoder/encoder.hpp>
#include <albertner/io/bf16.hpp>
#include <albertner/io/json.hpp>
#include <albertner/io/safetensors.hpp>
#include <albertner/model/config.hpp>
#include <albertner/model/weight_schema.hpp>
#include <albertner/tooling/converter.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using albertner::Encoder;
using albertner::EncoderInput;
using albertner::EncoderOutput;
using albertner::errc;
using albertner::ModelConfig;
using albertner::Stage;
using albertner::TensorView;
using albertner::detail::LinearSpec;
using albertner::detail::NormSpec;
using albertner::detail::WeightRole;
using albertner::detail::WeightSchema;
using albertner::detail::WeightSpec;

namespace {

using albertner_test::config_from_text;

/// golden/<fixture> with the weights of its Hugging Face model.safetensors, read directly.
void check_golden(const std::string& fixture, double tolerance) {
  auto model_file =
      albertner::SafeTensors::open(albertner_test::shared_path("golden/" + fixture + "/model.safetensors"));
  REQUIRE_MESSAGE(model_file.ok(), (model_file.ok() ? "" : model_file.error().what()));
  const albertner::SafeTensors& model = *model_file;
  albertner_test::check_golden_lookup(
      fixture, fixture, [&](const std::string& name) { return model.find(name); }, tolerance);
}

// ---------------------------------------------------------------------------------------------
// Synthetic models: random weights for any config, and a naive double-precision forward pass.

struct SyntheticModel {
  ModelConfig config;
  std::map<std::string, std::vector<float>> data;
  std::map<std::string, TensorView> views;
  std::set<std::string> requested;

  const TensorView* find(const std::string& name) {
    requested.insert(name);
    auto it = views.find(name);
    return it == views.end() ? nullptr : &it->second;
  }
  const std::vector<float>& w(const std::string& name) const { return data.at(name); }
  const std::vector<float>& w(const WeightSpec& spec) const { return data.at(spec.name); }
};

SyntheticModel make_synthetic(const ModelConfig& config, unsigned seed) {
  SyntheticModel m;
  m.config = config;
  std::mt19937 rng(seed);
  auto add = [&](const WeightSpec& w, double mean, double stddev) {
    std::normal_distribution<double> dist(mean, stddev);
    std::int64_t n = 1;
    for (std::int64_t d : w.shape) n *= d;
    std::vector<float>& v = m.data[w.name];
    for (std::int64_t i = 0; i < n; ++i) v.push_back(static_cast<float>(dist(rng)));
    TensorView t;
    t.name = w.name;
    t.shape = w.shape;
    m.views[w.name] = t;
  };
  // The schema's tensors in binding order, each drawn by its role.
  const WeightSchema schema = albertner::detail::weight_schema(config);
  schema.for_each([&](const WeightSpec& w) {
    switch (w.role) {
    case WeightRole::embedding: add(w, 0, w.name == schema.word_embeddings.name ? 1 : 0.5); break;
    case WeightRole::linear_weight: add(w, 0, 1.0 / std::sqrt(double(w.shape[1]))); break;
    case WeightRole::linear_bias: add(w, 0, 0.1); break;
    case WeightRole::norm_gamma: add(w, 1, 0.2); break;
    case WeightRole::norm_beta: add(w, 0, 0.1); break;
    case WeightRole::row_scales: break; // not in the schema: quantize_matrices adds them
    }
  });
  // Views point into `data` only now that no vector moves any more.
  for (auto& v : m.views) {
    const std::vector<float>& d = m.data.at(v.first);
    v.second.data = reinterpret_cast<const std::uint8_t*>(d.data());
    v.second.nbytes = d.size() * sizeof(float);
  }
  return m;
}

/// Stores every matrix (2-D tensor) of `m` as BF16, rounded to nearest even; `m.data` keeps
/// the rounded values as floats for the reference.
void narrow_matrices(SyntheticModel& m, std::map<std::string, std::vector<std::uint16_t>>& storage) {
  for (auto& v : m.views) {
    if (v.second.shape.size() != 2) continue;
    std::vector<float>& values = m.data.at(v.first);
    std::vector<std::uint16_t>& narrow = storage[v.first];
    for (float& x : values) {
      narrow.push_back(albertner::detail::bf16_from_f32(x));
      x = albertner::detail::f32_from_bf16(narrow.back());
    }
    v.second.type = albertner::dtype::bf16;
    v.second.data = reinterpret_cast<const std::uint8_t*>(narrow.data());
    v.second.nbytes = narrow.size() * sizeof(std::uint16_t);
  }
}

/// Stores every matrix of `m` as int8 with a scale per row (the converter's quantize_row_i8),
/// `<name>_scale` beside it; `m.data` keeps int8 * scale for the reference.
void quantize_matrices(SyntheticModel& m, std::map<std::string, std::vector<std::int8_t>>& storage,
                       std::map<std::string, std::vector<float>>& scales) {
  std::vector<std::string> names;
  for (const auto& v : m.views)
    if (v.second.shape.size() == 2) names.push_back(v.first);
  for (const std::string& name : names) {
    TensorView& view = m.views.at(name);
    const std::int64_t rows = view.shape[0], cols = view.shape[1];
    std::vector<float>& values = m.data.at(name);
    std::vector<std::int8_t>& q = storage[name];
    std::vector<float>& s = scales[name];
    q.resize(values.size());
    s.resize(static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r) {
      albertner::detail::quantize_row_i8(values.data() + r * cols, cols, q.data() + r * cols, s[std::size_t(r)]);
      for (std::int64_t c = 0; c < cols; ++c)
        values[std::size_t(r * cols + c)] = float(q[std::size_t(r * cols + c)]) * s[std::size_t(r)];
    }
    view.type = albertner::dtype::i8;
    view.data = reinterpret_cast<const std::uint8_t*>(q.data());
    view.nbytes = q.size();
    TensorView scale;
    scale.name = albertner::detail::scale_name(name);
    scale.shape = {rows};
    scale.data = reinterpret_cast<const std::uint8_t*>(s.data());
    scale.nbytes = s.size() * sizeof(float);
    m.views[scale.name] = scale;
  }
}

using Matrix = std::vector<std::vector<double>>; // [rows][cols]

/// What the kernels do to the left-hand side of a Linear product before multiplying.
enum class Operand { exact, bf16, int8 };

/// x as the nearest bf16, through float as the kernels round their fp32 values.
double bf16_rounded(double x) {
  using albertner::detail::bf16_from_f32;
  using albertner::detail::f32_from_bf16;
  return f32_from_bf16(bf16_from_f32(static_cast<float>(x)));
}

/// `operand`: x rounded to bf16 first, as the BF16 dot-product kernels round it, or quantized
/// per row as the int8 kernels do (quantize_rows_u8's rule, in float).
Matrix ref_linear(const SyntheticModel& m, const LinearSpec& p, const Matrix& x, Operand operand = Operand::exact) {
  if (operand != Operand::exact) {
    Matrix rounded = x;
    for (auto& row : rounded) {
      if (operand == Operand::bf16) {
        for (double& v : row) v = bf16_rounded(v);
        continue;
      }
      float top = 0.0f;
      for (double v : row) top = std::max(top, std::fabs(static_cast<float>(v)));
      const float scale = top / 127.0f, inverse = top > 0.0f ? 127.0f / top : 0.0f;
      for (double& v : row) v = double(std::nearbyint(static_cast<float>(v) * inverse)) * scale;
    }
    return ref_linear(m, p, rounded);
  }
  const std::vector<float>& w = m.w(p.weight);
  const std::vector<float>& b = m.w(p.bias);
  const std::size_t out = b.size();
  Matrix y(x.size(), std::vector<double>(out));
  for (std::size_t r = 0; r < x.size(); ++r)
    for (std::size_t o = 0; o < out; ++o) {
      double s = b[o];
      for (std::size_t i = 0; i < x[r].size(); ++i) s += double(w[o * x[r].size() + i]) * x[r][i];
      y[r][o] = s;
    }
  return y;
}

void ref_layer_norm(const SyntheticModel& m, const NormSpec& p, Matrix& x) {
  const std::vector<float>& g = m.w(p.gamma);
  const std::vector<float>& b = m.w(p.beta);
  for (std::vector<double>& row : x) {
    double mean = 0, var = 0;
    for (double v : row) mean += v;
    mean /= double(row.size());
    for (double v : row) var += (v - mean) * (v - mean);
    var /= double(row.size());
    for (std::size_t c = 0; c < row.size(); ++c)
      row[c] = (row[c] - mean) / std::sqrt(var + m.config.layer_norm_eps) * g[c] + b[c];
  }
}

double ref_activation(albertner::activation a, double x) {
  const double pi = 3.14159265358979323846;
  switch (a) {
  case albertner::activation::gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  case albertner::activation::gelu_new:
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / pi) * (x + 0.044715 * x * x * x)));
  case albertner::activation::gelu_fast: return 0.5 * x * (1 + std::tanh(0.7978845608 * x * (1 + 0.044715 * x * x)));
  case albertner::activation::relu: return x > 0 ? x : 0;
  }
  return 0;
}

/// Logits [B*T][labels] by the textbook definition; padded keys are left out of the softmax.
/// `R`: what happens to the left-hand side of every Linear product (see ref_linear).
Matrix ref_forward(const SyntheticModel& m, const EncoderInput& in, Operand R = Operand::exact) {
  const ModelConfig& c = m.config;
  const std::size_t B = std::size_t(in.batch), T = std::size_t(in.seq_len), E = std::size_t(c.embedding_size);
  const std::size_t H = std::size_t(c.hidden_size), heads = std::size_t(c.num_attention_heads), hd = H / heads;
  Matrix x(B * T, std::vector<double>(E));
  const WeightSchema s = albertner::detail::weight_schema(c);
  const std::vector<float>& word = m.w(s.word_embeddings);
  const std::vector<float>& pos = m.w(s.position_embeddings);
  const std::vector<float>& type = m.w(s.token_type_embeddings);
  for (std::size_t r = 0; r < B * T; ++r)
    for (std::size_t e = 0; e < E; ++e)
      x[r][e] = double(word[std::size_t(in.input_ids[r]) * E + e]) + type[std::size_t(in.token_type_ids[r]) * E + e] +
                pos[(r % T) * E + e];
  ref_layer_norm(m, s.embedding_norm, x);
  Matrix h = ref_linear(m, s.projection, x, R);
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const auto group = std::int64_t(double(i) / (double(c.num_hidden_layers) / double(c.num_hidden_groups)));
    for (std::int64_t j = 0; j < c.inner_group_num; ++j) {
      const albertner::detail::LayerSpec& p = s.groups[std::size_t(group)][std::size_t(j)];
      const Matrix q = ref_linear(m, p.query, h, R), k = ref_linear(m, p.key, h, R), v = ref_linear(m, p.value, h, R);
      Matrix ctx(B * T, std::vector<double>(H, 0.0));
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t n = 0; n < heads; ++n)
          for (std::size_t qi = 0; qi < T; ++qi) {
            std::vector<double> s(T, 0.0);
            double top = -1e300, sum = 0;
            for (std::size_t ki = 0; ki < T; ++ki) {
              for (std::size_t d = 0; d < hd; ++d) s[ki] += q[b * T + qi][n * hd + d] * k[b * T + ki][n * hd + d];
              s[ki] /= std::sqrt(double(hd));
              if (in.attention_mask[b * T + ki]) top = std::max(top, s[ki]);
            }
            for (std::size_t ki = 0; ki < T; ++ki) {
              s[ki] = in.attention_mask[b * T + ki] ? std::exp(s[ki] - top) : 0.0;
              sum += s[ki];
            }
            for (std::size_t ki = 0; ki < T; ++ki)
              for (std::size_t d = 0; d < hd; ++d)
                ctx[b * T + qi][n * hd + d] += s[ki] / sum * v[b * T + ki][n * hd + d];
          }
      Matrix a = ref_linear(m, p.dense, ctx, R);
      for (std::size_t r = 0; r < a.size(); ++r)
        for (std::size_t col = 0; col < H; ++col) a[r][col] += h[r][col];
      ref_layer_norm(m, p.attention_norm, a);
      Matrix f = ref_linear(m, p.ffn, a, R);
      for (auto& row : f)
        for (double& val : row) val = ref_activation(c.hidden_act, val);
      h = ref_linear(m, p.ffn_output, f, R);
      for (std::size_t r = 0; r < h.size(); ++r)
        for (std::size_t col = 0; col < H; ++col) h[r][col] += a[r][col];
      ref_layer_norm(m, p.output_norm, h);
    }
  }
  return ref_linear(m, s.classifier, h, R);
}

/// Several groups, several inner layers, an uneven layers/groups ratio and a large eps.
ModelConfig synthetic_config() {
  ModelConfig c;
  c.vocab_size = 23;
  c.embedding_size = 6;
  c.hidden_size = 8;
  c.num_attention_heads = 2;
  c.intermediate_size = 11;
  c.num_hidden_layers = 5;
  c.num_hidden_groups = 2;
  c.inner_group_num = 3;
  c.max_position_embeddings = 9;
  c.type_vocab_size = 3;
  c.layer_norm_eps = 1e-3;
  c.labels = {"O", "B-X", "I-X"};
  return c;
}

/// Two rows of 7 tokens, the second padded after 4, with all three token types.
struct SyntheticBatch {
  std::vector<std::int64_t> ids{2, 5, 22, 0, 7, 13, 3, 2, 9, 11, 3, 0, 0, 0};
  std::vector<std::int64_t> types{0, 0, 1, 1, 2, 2, 1, 0, 1, 2, 1, 0, 0, 0};
  std::vector<std::int64_t> mask{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
  EncoderInput input() const {
    EncoderInput in;
    in.batch = 2;
    in.seq_len = 7;
    in.input_ids = ids.data();
    in.token_type_ids = types.data();
    in.attention_mask = mask.data();
    return in;
  }
};

/// The wide tests' shape: hidden 80 in 5 heads (five panels of 16, head_dim 16), 19 positions.
ModelConfig wide_config(std::int64_t embedding, std::int64_t intermediate, std::int64_t layers) {
  ModelConfig config = synthetic_config();
  config.embedding_size = embedding;
  config.hidden_size = 80;
  config.num_attention_heads = 5;
  config.intermediate_size = intermediate;
  config.max_position_embeddings = 19;
  config.num_hidden_layers = layers;
  config.num_hidden_groups = 1;
  config.inner_group_num = 1;
  return config;
}

/// Two rows of 19 tokens (38 rows cross the 8-row tiles), the second padded after `second_real`;
/// ids (i * step + offset) % 23, token type 0.
struct WideBatch {
  std::vector<std::int64_t> ids = std::vector<std::int64_t>(38), types = std::vector<std::int64_t>(38, 0),
                            mask = std::vector<std::int64_t>(38, 1);
  WideBatch(std::size_t step, std::size_t offset, std::size_t second_real) {
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>((i * step + offset) % 23);
    for (std::size_t i = 19 + second_real; i < 38; ++i) mask[i] = 0;
  }
  EncoderInput input() const {
    EncoderInput in;
    in.batch = 2;
    in.seq_len = 19;
    in.input_ids = ids.data();
    in.token_type_ids = types.data();
    in.attention_mask = mask.data();
    return in;
  }
};

/// Largest |logits - ref| over the rows whose mask is 1.
double max_real_error(const float* logits, const Matrix& ref, const std::vector<std::int64_t>& mask) {
  double err = 0;
  for (std::size_t r = 0; r < ref.size(); ++r)
    for (std::size_t c = 0; c < ref[r].size(); ++c)
      if (mask[r]) err = std::max(err, std::fabs(double(logits[r * ref[r].size() + c]) - ref[r][c]));
  return err;
}

/// Runs `in` again in a fresh workspace with `threads` threads, skipping trailing padding when
/// `skip`, and checks the outputs against the first run's `logits` and `hidden`: the same bits
/// on the AVX2 and AVX-512 kernels (each thread computes whole columns with the same instructions), within
/// 1e-5 on the portable ones (Eigen's blocking depends on the product's width, so sums may round
/// differently); with `skip`, padded rows hold 0.
void check_rerun(const Encoder& encoder, EncoderInput in, const std::vector<std::int64_t>& mask,
                 const std::vector<float>& logits, const std::vector<float>& hidden, std::size_t threads, bool skip,
                 double int8_slack = 1e-5) {
  CAPTURE(threads);
  CAPTURE(skip);
  Encoder::Workspace ws;
  REQUIRE(ws.set_threads(threads).ok());
  CHECK(ws.threads() == threads);
  in.skip_padding = skip;
  auto again = encoder.forward(in, ws);
  REQUIRE(again.ok());
  const std::size_t labels = logits.size() / mask.size(), width = hidden.size() / mask.size();
  double diff = 0;
  std::size_t nonzero_padding = 0;
  for (std::size_t r = 0; r < mask.size(); ++r) {
    const bool computed = mask[r] || !skip;
    for (std::size_t c = 0; c < labels; ++c) {
      const double v = again->logits[r * labels + c];
      if (computed) diff = std::max(diff, std::fabs(v - logits[r * labels + c]));
      else nonzero_padding += v != 0.0;
    }
    for (std::size_t c = 0; c < width; ++c) {
      const double v = again->last_hidden_state[r * width + c];
      if (computed) diff = std::max(diff, std::fabs(v - hidden[r * width + c]));
      else nonzero_padding += v != 0.0;
    }
  }
  CHECK(nonzero_padding == 0);
  // The portable epilogue runs on Eigen, whose vector tails (scalar vs packet tanh) depend on the
  // split; int8 can turn such a 1e-6 into one quantization step of an activation sitting on a
  // rounding midpoint (measured 0.0117 on the wide int8 model).
  if (albertner::kernel_isa() >= albertner::KernelIsa::avx2) CHECK(diff == 0.0);
  else CHECK(diff <= int8_slack);
}

/// A first run's outputs, [rows, labels] and [rows, hidden], for check_rerun to compare against.
struct FirstRun {
  std::vector<float> logits, hidden;
};

/// Runs `in` in a fresh one-thread workspace and checks its logits against the naive reference
/// (`operand` on every Linear input) within `tolerance`, printing the error after `what`.
FirstRun check_first_run(const Encoder& encoder, const SyntheticModel& model, const EncoderInput& in,
                         const std::vector<std::int64_t>& mask, const std::string& what, double tolerance,
                         Operand operand = Operand::exact) {
  Encoder::Workspace one;
  auto out = encoder.forward(in, one);
  REQUIRE(out.ok());
  const double err = max_real_error(out->logits, ref_forward(model, in, operand), mask);
  MESSAGE(what << ": max abs logits error " << err);
  CHECK(err <= tolerance);
  const std::size_t labels = static_cast<std::size_t>(model.config.num_labels()) * mask.size(),
                    hidden = static_cast<std::size_t>(model.config.hidden_size) * mask.size();
  return {std::vector<float>(out->logits, out->logits + labels),
          std::vector<float>(out->last_hidden_state, out->last_hidden_state + hidden)};
}

/// "KERNEL kernels", the kernels that run on this CPU, for check_first_run's report.
std::string isa_kernels() { return std::string(albertner::kernel_isa_name(albertner::kernel_isa())) + " kernels"; }

} // namespace

TEST_CASE("golden tiny: every stage matches Hugging Face") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  check_golden("tiny", 1e-4);
}

TEST_CASE("golden base: every stage matches Hugging Face") {
  if (!albertner_test::have_shared("golden/base")) return;
  check_golden("base", 5e-4);
}

TEST_CASE("synthetic groups and inner layers match a naive reference for every activation") {
  using albertner::activation;
  for (activation act : {activation::gelu, activation::gelu_new, activation::gelu_fast, activation::relu}) {
    CAPTURE(std::string(albertner::activation_name(act)));
    ModelConfig config = synthetic_config();
    config.hidden_act = act;
    SyntheticModel model = make_synthetic(config, 7);
    auto encoder = Encoder::create(config, [&](const std::string& n) { return model.find(n); });
    REQUIRE_MESSAGE(encoder.ok(), (encoder.ok() ? "" : encoder.error().what()));
    // Every tensor of every group and inner layer is bound, and nothing else is asked for.
    std::set<std::string> all;
    for (const auto& v : model.views) all.insert(v.first);
    CHECK(model.requested == all);

    SyntheticBatch batch;
    Encoder::Workspace ws;
    auto out = encoder->forward(batch.input(), ws);
    REQUIRE(out.ok());
    const double err = max_real_error(out->logits, ref_forward(model, batch.input()), batch.mask);
    MESSAGE("synthetic " << std::string(albertner::activation_name(act)) << ": max abs logits error " << err);
    CHECK(err <= 1e-4);
  }
}

TEST_CASE(
    "wide layers: several panels, row tiles and tails match the naive reference; 2 and 3 threads give "
    "the same outputs as 1") {
  // Sizes chosen to cross the kernels' units: 80 columns = 5 panels of 16 (an odd pair), 38 rows =
  // four 8-row tiles + 6 (AVX-512) or six 6-row tiles + 2 (AVX2), depths 20 / 80 / 100 with
  // tails, head_dim 16.
  const ModelConfig config = wide_config(20, 100, 2);
  SyntheticModel model = make_synthetic(config, 11);
  auto encoder = Encoder::create(config, [&](const std::string& n) { return model.find(n); });
  REQUIRE(encoder.ok());
  const WideBatch batch(7, 3, 11); // the second row padded after 11 tokens
  const std::vector<std::int64_t>& mask = batch.mask;
  const EncoderInput in = batch.input();

  const FirstRun first = check_first_run(*encoder, model, in, mask, "wide synthetic (" + isa_kernels() + ")", 1e-4);
  for (std::size_t threads : {2, 3}) check_rerun(*encoder, in, mask, first.logits, first.hidden, threads, false);
  Encoder::Workspace ws;
  CHECK_ERROR(ws.set_threads(0), errc::invalid_input, "threads must be at least 1");
  // skip_padding: the second row's 8 trailing padded positions are not computed and hold 0; the
  // real tokens keep their values (padded keys get zero attention weight either way).
  for (std::size_t threads : {1, 2}) check_rerun(*encoder, in, mask, first.logits, first.hidden, threads, true);
}

TEST_CASE(
    "long sequences: attention in several blocks of queries matches the naive reference; threads and "
    "skipped padding change nothing") {
  // 101 positions: two full blocks of kQueryBlock (48) queries and a tail of 5; the second row,
  // padded after 60, has one full block and a tail of 12.
  ModelConfig config = wide_config(20, 100, 2);
  const std::int64_t T = 2 * albertner::detail::kQueryBlock + 5;
  config.max_position_embeddings = T;
  SyntheticModel model = make_synthetic(config, 19);
  auto encoder = Encoder::create(config, [&](const std::string& n) { return model.find(n); });
  REQUIRE(encoder.ok());
  std::vector<std::int64_t> ids(2 * T), types(2 * T, 0), mask(2 * T, 1);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>((i * 5 + 2) % 23);
  for (std::int64_t i = T + 60; i < 2 * T; ++i) mask[static_cast<std::size_t>(i)] = 0;
  EncoderInput in;
  in.batch = 2;
  in.seq_len = T;
  in.input_ids = ids.data();
  in.token_type_ids = types.data();
  in.attention_mask = mask.data();

  const FirstRun first = check_first_run(*encoder, model, in, mask, "long synthetic (" + isa_kernels() + ")", 1e-4);
  for (std::size_t threads : {1, 2, 3})
    for (bool skip : {false, true}) check_rerun(*encoder, in, mask, first.logits, first.hidden, threads, skip);
}

TEST_CASE("observer: every stage in order, once per inner layer inside an iteration; results unchanged") {
  // 5 iterations over 2 groups of 3 inner layers: each iteration observes qkv .. ffn_out three times.
  const ModelConfig config = synthetic_config();
  SyntheticModel model = make_synthetic(config, 5);
  auto encoder = Encoder::create(config, [&](const std::string& n) { return model.find(n); });
  REQUIRE(encoder.ok());
  const SyntheticBatch batch;
  const EncoderInput in = batch.input();
  const std::int64_t rows = in.batch * in.seq_len, H = config.hidden_size;
  const auto logit_count = static_cast<std::size_t>(rows * config.num_labels());
  Encoder::Workspace ws;
  auto plain = encoder->forward(in, ws);
  REQUIRE(plain.ok());
  const std::vector<float> want(plain->logits, plain->logits + logit_count);

  struct Event {
    Stage stage;
    std::int64_t index, rows, cols;
    std::vector<float> data;
  };
  std::vector<Event> events;
  auto record = [](void* user, Stage stage, std::int64_t index, const float* data, std::int64_t r, std::int64_t c) {
    static_cast<std::vector<Event>*>(user)->push_back({stage, index, r, c, std::vector<float>(data, data + r * c)});
  };
  for (std::size_t threads : {1, 2}) {
    CAPTURE(threads);
    events.clear();
    Encoder::Workspace observed;
    REQUIRE(observed.set_threads(threads).ok());
    auto out = encoder->forward(in, observed, {record, &events});
    REQUIRE(out.ok());
    CHECK(std::equal(want.begin(), want.end(), out->logits)); // to the bit

    std::vector<Event> expected{{Stage::embeddings, 0, rows, config.embedding_size, {}},
                                {Stage::projection, 0, rows, H, {}}};
    for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
      for (std::int64_t inner = 0; inner < config.inner_group_num; ++inner) {
        expected.push_back({Stage::qkv, i, 3 * rows, H, {}});
        expected.push_back({Stage::attention, i, rows, H, {}});
        expected.push_back({Stage::attention_output, i, rows, H, {}});
        expected.push_back({Stage::ffn_in, i, rows, config.intermediate_size, {}});
        expected.push_back({Stage::ffn_out, i, rows, H, {}});
      }
      expected.push_back({Stage::layer, i, rows, H, {}});
    }
    expected.push_back({Stage::head, 0, rows, config.num_labels(), {}});
    REQUIRE(events.size() == expected.size());
    for (std::size_t e = 0; e < events.size(); ++e) {
      CAPTURE(e);
      CHECK(events[e].stage == expected[e].stage);
      CHECK(events[e].index == expected[e].index);
      CHECK(events[e].rows == expected[e].rows);
      CHECK(events[e].cols == expected[e].cols);
      // An iteration's output is its last inner layer's.
      if (events[e].stage == Stage::layer) CHECK(events[e].data == events[e - 1].data);
    }
    CHECK(std::equal(want.begin(), want.end(), events.back().data.begin()));
    CHECK(std::equal(events[events.size() - 2].data.begin(), events[events.size() - 2].data.end(),
                     out->last_hidden_state));
  }
}

TEST_CASE("exact_reciprocal: 1 / d for every power of two whose reciprocal is normal, else 0") {
  using albertner::detail::exact_reciprocal;
  int powers = 0;
  for (int e = -149; e <= 127; ++e) {
    const float d = std::ldexp(1.0f, e);
    const bool normal_both = e >= -126 && e <= 126; // 2^126 has the reciprocal 2^-126, 2^127 none that is normal
    CAPTURE(e);
    CHECK(exact_reciprocal(d) == (normal_both ? 1.0f / d : 0.0f));
    CHECK(exact_reciprocal(-d) == 0.0f);
    powers += normal_both;
  }
  CHECK(powers == 253);
  CHECK(exact_reciprocal(2.0f) * 3.0f == 3.0f / 2.0f);
  for (float d : {3.0f, 7.99999952f, 8.00000095f, 0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN(), std::sqrt(48.0f)})
    CHECK(exact_reciprocal(d) == 0.0f);
}

TEST_CASE("bf16: round to nearest even; exact back to float; NaN, infinities and signs kept") {
  using albertner::detail::bf16_from_f32;
  using albertner::detail::f32_from_bf16;
  auto from_bits = [](std::uint32_t bits) {
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  };
  CHECK(bf16_from_f32(1.0f) == 0x3f80);
  CHECK(bf16_from_f32(-2.0f) == 0xc000);
  CHECK(f32_from_bf16(0x3f80) == 1.0f);
  CHECK(bf16_from_f32(from_bits(0x3f808000u)) == 0x3f80); // a tie goes to the even neighbour
  CHECK(bf16_from_f32(from_bits(0x3f818000u)) == 0x3f82);
  CHECK(bf16_from_f32(from_bits(0x3f808001u)) == 0x3f81); // just above the tie rounds up
  CHECK(bf16_from_f32(from_bits(0x3f807fffu)) == 0x3f80);
  CHECK(bf16_from_f32(from_bits(0x7f7fffffu)) == 0x7f80); // the largest float rounds to infinity
  CHECK(bf16_from_f32(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(bf16_from_f32(-std::numeric_limits<float>::infinity()) == 0xff80);
  CHECK(bf16_from_f32(-0.0f) == 0x8000);
  CHECK(std::isnan(f32_from_bf16(bf16_from_f32(from_bits(0x7f800001u))))); // a NaN that truncation would make infinite
  CHECK(std::isnan(f32_from_bf16(bf16_from_f32(from_bits(0xffffffffu)))));
  CHECK(std::signbit(f32_from_bf16(bf16_from_f32(-std::numeric_limits<float>::quiet_NaN()))));
  // Every bf16 survives the round trip.
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    const float v = f32_from_bf16(static_cast<std::uint16_t>(h));
    if (!std::isnan(v)) REQUIRE(bf16_from_f32(v) == h);
  }
  // The error is at most half a unit in the last of bf16's 8 significant bits: 2^-8 relative.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1e4f, 1e4f);
  int outside = 0;
  for (int i = 0; i < 100000; ++i) {
    const float x = dist(rng);
    outside += std::fabs(double(f32_from_bf16(bf16_from_f32(x))) - x) > std::ldexp(std::fabs(double(x)), -8);
  }
  CHECK(outside == 0);
}

TEST_CASE("bf16 kernel: a product over bf16 weights equals the exact sum of the bf16-rounded operands") {
  if (albertner::kernel_isa() != albertner::KernelIsa::avx512_bf16) {
    MESSAGE("skipped: the BF16 dot-product kernel needs a CPU with avx512_bf16 (this one runs "
            << std::string(albertner::kernel_isa_name(albertner::kernel_isa())) << ")");
    return;
  }
  using albertner::detail::bf16_from_f32;
  using albertner::detail::f32_from_bf16;
  // 37 rows cross the row tiles, 45 columns leave a partial panel, odd depth 33 a half pair.
  const std::int64_t rows = 37, cols = 45, depth = 33, ld = 34;
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(rows * depth)), bias(static_cast<std::size_t>(cols));
  std::vector<std::uint16_t> w(static_cast<std::size_t>(cols * depth));
  for (float& x : a) x = dist(rng);
  for (float& x : bias) x = dist(rng);
  for (std::uint16_t& x : w) x = bf16_from_f32(dist(rng));
  std::vector<std::uint16_t> packed(static_cast<std::size_t>(albertner::detail::packed_size_bf16(cols, depth)));
  albertner::detail::pack_panels_bf16(w.data(), depth, cols, depth, packed.data());
  std::vector<std::uint16_t> rounded(static_cast<std::size_t>(rows * ld), 0xffff);
  albertner::detail::round_rows_bf16(a.data(), rows, depth, depth, rounded.data(), ld);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t k = 0; k < depth; ++k)
      REQUIRE(rounded[std::size_t(r * ld + k)] == bf16_from_f32(a[std::size_t(r * depth + k)]));
    REQUIRE(rounded[std::size_t(r * ld + depth)] == 0); // the padding of an odd depth
  }
  albertner::detail::MatmulF32 m;
  m.a = a.data();
  m.lda = depth;
  m.packed_bf16 = packed.data();
  m.a_bf16 = rounded.data();
  m.lda_bf16 = ld;
  std::vector<float> c(static_cast<std::size_t>(rows * cols));
  m.c = c.data();
  m.ldc = cols;
  m.rows = rows;
  m.cols = cols;
  m.depth = depth;
  m.bias = bias.data();
  albertner::detail::matmul(m);
  double err = 0;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t n = 0; n < cols; ++n) {
      double want = bias[std::size_t(n)], scale = std::fabs(want);
      for (std::int64_t k = 0; k < depth; ++k) {
        const double term =
            double(f32_from_bf16(rounded[std::size_t(r * ld + k)])) * f32_from_bf16(w[std::size_t(n * depth + k)]);
        want += term;
        scale += std::fabs(term);
      }
      err = std::max(err, std::fabs(double(c[std::size_t(r * cols + n)]) - want) / scale);
    }
  MESSAGE("bf16 kernel: max error relative to the sum of |terms| " << err);
  CHECK(err <= 1e-6); // fp32 accumulation of exact products
}

TEST_CASE(
    "bf16 matrices: the encoder matches a naive reference of the same arithmetic on every kernel; threads "
    "and skipped padding change nothing") {
  // Odd depths (21, 101) leave a half-filled pair at the end of each BF16 row; 80 columns are
  // five panels of 16; 38 rows cross the row tiles.
  const ModelConfig config = wide_config(21, 101, 1);
  SyntheticModel model = make_synthetic(config, 13);
  std::map<std::string, std::vector<std::uint16_t>> storage;
  narrow_matrices(model, storage);
  auto encoder = Encoder::create(config, [&](const std::string& n) { return model.find(n); });
  REQUIRE_MESSAGE(encoder.ok(), (encoder.ok() ? "" : encoder.error().what()));
  const WideBatch batch(5, 1, 8); // the second row padded after 8 tokens
  const std::vector<std::int64_t>& mask = batch.mask;
  const EncoderInput in = batch.input();

  // BF16 dot products round the other operand to bf16 as well; elsewhere only the weights are bf16.
  const bool bf16_dots = albertner::kernel_isa() == albertner::KernelIsa::avx512_bf16;
  // One layer: every kind of product once. Deeper, a rounding that falls on the other side of a
  // bf16 midpoint in fp32 than in double (one step, 2^-8 relative) grows through attention from
  // layer to layer (measured: 2.5e-7 after one layer, 4e-4 after two, 6e-3 after three), so a
  // deeper comparison would test the reference's luck, not the kernels.
  const FirstRun first = check_first_run(*encoder, model, in, mask, "bf16 synthetic (" + isa_kernels() + ")", 1e-5,
                                         bf16_dots ? Operand::bf16 : Operand::exact);
  for (std::size_t threads : {1, 2, 3})
    for (bool skip : {false, true}) check_rerun(*encoder, in, mask, first.logits, first.hidden, threads, skip);
}

TEST_CASE(
    "int8 kernels: every vectorized kernel and the portable loop give the same floats, the exact integer "
    "sums scaled, even for the largest products; quantizing rows gives the same bytes vectorized") {
  using albertner::detail::MatmulF32;
  // 37 rows cross the row tiles, 45 columns leave a partial panel, depth 35 a partial quad; row
  // 3 is all zero, row 4 so small that 127 / its largest magnitude is infinite (its zeros must stay
  // 0), row 5 holds infinities and a NaN (counted as 0).
  const std::int64_t rows = 37, cols = 45, depth = 35, ld = 36;
  std::mt19937 rng(9);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(rows * depth)), bias(static_cast<std::size_t>(cols)),
      w_scale(static_cast<std::size_t>(cols));
  std::vector<std::int8_t> w(static_cast<std::size_t>(cols * depth));
  for (float& x : a) x = dist(rng);
  for (std::int64_t k = 0; k < depth; ++k) {
    a[std::size_t(3 * depth + k)] = 0.0f;
    a[std::size_t(4 * depth + k)] = k % 3 ? 1e-38f : 0.0f;
  }
  a[5 * depth + 1] = std::numeric_limits<float>::infinity();
  a[5 * depth + 2] = -std::numeric_limits<float>::infinity();
  a[5 * depth + 3] = std::numeric_limits<float>::quiet_NaN();
  for (float& x : bias) x = dist(rng);
  for (float& x : w_scale) x = std::fabs(dist(rng)) / 127.0f;
  for (std::int8_t& x : w) x = static_cast<std::int8_t>(std::uniform_int_distribution<int>(-127, 127)(rng));
  // The largest products: w = -128 (outside the symmetric range, but a file may hold it) and 127
  // against rows that quantize to +-127 everywhere, where AVX2's 16-bit pair sums come closest
  // to overflowing.
  for (std::int64_t k = 0; k < depth; ++k) {
    w[std::size_t(k)] = -128;
    w[std::size_t(depth + k)] = 127;
    a[std::size_t(7 * depth + k)] = 2.5f;
    a[std::size_t(8 * depth + k)] = k % 2 ? -2.5f : 2.5f;
  }

  std::vector<std::uint8_t> quantized(static_cast<std::size_t>(rows * ld)), portable(quantized.size());
  std::vector<float> scales(static_cast<std::size_t>(rows)), portable_scales(scales.size());
  albertner::detail::quantize_rows_u8(a.data(), rows, depth, depth, quantized.data(), ld, scales.data());
  albertner::detail::quantize_rows_u8_portable(a.data(), rows, depth, depth, portable.data(), ld,
                                               portable_scales.data());
  CHECK(quantized == portable);
  CHECK(scales == portable_scales);
  CHECK(scales[3] == 0.0f);
  std::size_t off_grid = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    CHECK(quantized[std::size_t(r * ld + depth)] == 128); // padding is 0
    float top = 0;
    for (std::int64_t k = 0; k < depth; ++k)
      if (std::isfinite(a[std::size_t(r * depth + k)])) top = std::max(top, std::fabs(a[std::size_t(r * depth + k)]));
    for (std::int64_t k = 0; k < depth; ++k) {
      const float x = a[std::size_t(r * depth + k)];
      const double back = (int(quantized[std::size_t(r * ld + k)]) - 128) * double(scales[std::size_t(r)]);
      off_grid += std::isfinite(x) ? std::fabs(back - x) > 0.5001 * top / 127 : back != 0.0;
    }
  }
  CHECK(off_grid == 0);

  MatmulF32 m;
  m.w_i8 = w.data();
  m.ldw = depth;
  m.w_scale = w_scale.data();
  m.a_u8 = quantized.data();
  m.lda_u8 = ld;
  m.a_scale = scales.data();
  m.ldc = cols;
  m.rows = rows;
  m.cols = cols;
  m.depth = depth;
  m.bias = bias.data();
  std::vector<float> loop(static_cast<std::size_t>(rows * cols));
  m.c = loop.data();
  albertner::detail::matmul_portable_int8(m, 0, cols);
  double err = 0;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t n = 0; n < cols; ++n) {
      std::int64_t sum = 0;
      for (std::int64_t k = 0; k < depth; ++k)
        sum += (int(quantized[std::size_t(r * ld + k)]) - 128) * int(w[std::size_t(n * depth + k)]);
      const double want = double(sum) * w_scale[std::size_t(n)] * scales[std::size_t(r)] + bias[std::size_t(n)];
      err = std::max(err, std::fabs(loop[std::size_t(r * cols + n)] - want) / (std::fabs(want) + 1));
    }
  CHECK(err <= 1e-6);

  // Every vectorized kernel this CPU has, called directly: the same floats as the loop.
  std::vector<std::int8_t> packed(static_cast<std::size_t>(albertner::detail::packed_size_i8(cols, depth)));
  std::vector<std::int32_t> colsum(static_cast<std::size_t>(albertner::detail::packed_size(cols, 1)));
  albertner::detail::pack_panels_i8(w.data(), depth, cols, depth, packed.data(), colsum.data());
  m.packed_i8 = packed.data();
  m.w_colsum = colsum.data();
  std::string ran = "portable";
  // Every vectorized int8 kernel this CPU can run, called directly, twice, splitting the columns at
  // a panel pair as threads do.
  using Kernel = void (*)(const MatmulF32&, std::int64_t, std::int64_t);
  std::vector<std::pair<const char*, Kernel>> kernels;
#if ALBERTNER_X86_KERNELS
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    kernels.emplace_back("avx2", albertner::detail::avx2::matmul_int8);
  if (albertner::detail::active_int8_kernel() == albertner::Int8Kernel::avx_vnni)
    kernels.emplace_back("avx_vnni", albertner::detail::avx_vnni::matmul_int8);
  if (albertner::detail::active_int8_kernel() == albertner::Int8Kernel::avx512_vnni)
    kernels.emplace_back("avx512_vnni", albertner::detail::avx512::matmul_int8);
#endif
#if ALBERTNER_NEON_KERNELS
  kernels.emplace_back("neon", albertner::detail::neon::matmul_int8);
  if (albertner::detail::active_int8_kernel() == albertner::Int8Kernel::neon_dotprod)
    kernels.emplace_back("neon_dotprod", albertner::detail::neon_dot::matmul_int8);
#endif
  const std::int64_t panels = (cols + albertner::detail::kPanelWidth - 1) / albertner::detail::kPanelWidth;
  for (const auto& [name, kernel] : kernels) {
    std::vector<float> out(loop.size(), -1.0f);
    m.c = out.data();
    kernel(m, 0, 2);
    kernel(m, 2, panels);
    CHECK_MESSAGE(out == loop, name);
    ran += std::string(", ") + name;
  }
  MESSAGE("int8 kernels checked against the loop: " << ran);
}

TEST_CASE(
    "int8 matrices: the encoder matches a naive reference of the same arithmetic on every kernel; threads "
    "and skipped padding change nothing") {
  const ModelConfig config = wide_config(21, 101, 1);
  SyntheticModel model = make_synthetic(config, 17);
  std::map<std::string, std::vector<std::int8_t>> storage;
  std::map<std::string, std::vector<float>> scales;
  quantize_matrices(model, storage, scales);
  auto encoder = Encoder::create(config, [&](const std::string& n) { return model.find(n); });
  REQUIRE_MESSAGE(encoder.ok(), (encoder.ok() ? "" : encoder.error().what()));
  const WideBatch batch(5, 2, 8);
  const std::vector<std::int64_t>& mask = batch.mask;
  const EncoderInput in = batch.input();
  // As for bf16, one layer (measured 3.5e-7 to 4e-7 on the three kernels); an activation within
  // float rounding of a midpoint between two int8 steps could land on either side, hence room.
  const FirstRun first = check_first_run(
      *encoder, model, in, mask,
      "int8 synthetic (" + std::string(albertner::int8_kernel_name(albertner::int8_kernel())) + " kernel)", 1e-4,
      Operand::int8);
  for (std::size_t threads : {1, 2, 3})
    for (bool skip : {false, true}) check_rerun(*encoder, in, mask, first.logits, first.hidden, threads, skip, 0.05);

  // An int8 matrix without its scales is refused by name.
  const std::string victim = "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight";
  auto missing = Encoder::create(config, [&](const std::string& n) -> const TensorView* {
    return n == albertner::detail::scale_name(victim) ? nullptr : model.find(n);
  });
  CHECK_ERROR(missing, errc::missing, "tensor '" + victim + "_scale' is missing");
}

TEST_CASE("workspace: its size is known before the first call, and reserve() grows it up front") {
  ModelConfig config = synthetic_config();
  SyntheticModel model = make_synthetic(config, 5);
  auto encoder = Encoder::create(config, [&](const std::string& n) { return model.find(n); });
  REQUIRE(encoder.ok());
  SyntheticBatch batch;
  for (std::size_t threads : {1, 2}) {
    CAPTURE(threads);
    Encoder::Workspace ws;
    REQUIRE(ws.set_threads(threads).ok());
    CHECK(ws.bytes() == 0);
    const std::size_t expected = encoder->workspace_bytes(2, 7, threads);
    CHECK(expected > 0);
    REQUIRE(encoder->forward(batch.input(), ws).ok());
    CHECK(ws.bytes() == expected);

    Encoder::Workspace reserved;
    REQUIRE(reserved.set_threads(threads).ok());
    REQUIRE(encoder->reserve(reserved, 2, 7).ok());
    CHECK(reserved.bytes() == expected);
    REQUIRE(encoder->forward(batch.input(), reserved).ok());
    CHECK(reserved.bytes() == expected); // smaller or equal shapes never grow it
  }
  Encoder::Workspace ws;
  CHECK_ERROR(encoder->reserve(ws, 1, 10), errc::invalid_input, "seq_len = 10 is out of range [1, 9]");
  CHECK_ERROR(encoder->reserve(ws, 0, 4), errc::invalid_input, "batch = 0 must be at least 1");
}

TEST_CASE("defaults: no token types and no mask mean all 0 and all 1") {
  ModelConfig config = synthetic_config();
  SyntheticModel model = make_synthetic(config, 3);
  auto encoder = Encoder::create(config, [&](const std::string& n) { return model.find(n); });
  REQUIRE(encoder.ok());
  const std::vector<std::int64_t> ids{2, 4, 6, 3}, zeros(4, 0), ones(4, 1);
  EncoderInput bare;
  bare.batch = 1;
  bare.seq_len = 4;
  bare.input_ids = ids.data();
  EncoderInput full = bare;
  full.token_type_ids = zeros.data();
  full.attention_mask = ones.data();
  Encoder::Workspace a, b;
  auto x = encoder->forward(bare, a);
  auto y = encoder->forward(full, b);
  REQUIRE((x.ok() && y.ok()));
  CHECK(std::equal(x->logits, x->logits + 4 * 3, y->logits));
}

TEST_CASE("weight binding errors name the tensor") {
  const ModelConfig config = synthetic_config();
  SyntheticModel model = make_synthetic(config, 5);
  const std::string victim = "albert.encoder.albert_layer_groups.1.albert_layers.2.ffn.weight";
  auto create_with = [&](const TensorView* replacement) {
    return Encoder::create(
        config, [&](const std::string& n) -> const TensorView* { return n == victim ? replacement : model.find(n); });
  };

  SUBCASE("missing") {
    auto e = create_with(nullptr);
    REQUIRE(!e.ok());
    CHECK(e.error().code() == errc::missing);
    CHECK(e.error().message().find(victim) != std::string::npos);
    CHECK(e.error().message().find("[11, 8]") != std::string::npos);
  }
  SUBCASE("wrong shape") {
    TensorView t = model.views.at(victim);
    t.shape = {8, 11};
    auto e = create_with(&t);
    REQUIRE(!e.ok());
    CHECK(e.error().code() == errc::shape);
    CHECK(e.error().message() == "tensor '" + victim + "' has shape [8, 11], expected [11, 8]");
  }
  SUBCASE("wrong dtype") {
    TensorView t = model.views.at(victim);
    t.type = albertner::dtype::f16;
    t.nbytes /= 2;
    auto e = create_with(&t);
    REQUIRE(!e.ok());
    CHECK(e.error().code() == errc::shape);
    CHECK(e.error().message().find("F16") != std::string::npos);
  }
  SUBCASE("BF16 where only F32 is allowed: biases and LayerNorms") {
    const std::string bias = "albert.encoder.albert_layer_groups.1.albert_layers.2.ffn.bias";
    TensorView t = model.views.at(bias);
    t.type = albertner::dtype::bf16;
    t.nbytes /= 2;
    auto e = Encoder::create(config,
                             [&](const std::string& n) -> const TensorView* { return n == bias ? &t : model.find(n); });
    REQUIRE(!e.ok());
    CHECK(e.error().code() == errc::shape);
    CHECK(e.error().message() == "tensor '" + bias + "' has dtype BF16, expected F32");
  }
  SUBCASE("byte count disagrees with the shape") {
    TensorView t = model.views.at(victim);
    t.nbytes -= 4;
    auto e = create_with(&t);
    REQUIRE(!e.ok());
    CHECK(e.error().code() == errc::format);
  }
  SUBCASE("misaligned data") {
    std::vector<std::uint8_t> bytes(model.views.at(victim).nbytes + 1);
    TensorView t = model.views.at(victim);
    t.data = bytes.data() + (reinterpret_cast<std::uintptr_t>(bytes.data()) % 4 == 0 ? 1 : 0);
    auto e = create_with(&t);
    REQUIRE(!e.ok());
    CHECK(e.error().code() == errc::unsupported);
  }
  SUBCASE("invalid config") {
    ModelConfig bad = config;
    bad.num_attention_heads = 3;
    auto e = Encoder::create(bad, [&](const std::string& n) { return model.find(n); });
    REQUIRE(!e.ok());
    CHECK(e.error().code() == errc::config);
    CHECK(e.error().message().find("num_attention_heads") != std::string::npos);
  }
}

TEST_CASE("bad inputs are errors that name row and position") {
  const ModelConfig config = synthetic_config();
  SyntheticModel model = make_synthetic(config, 11);
  auto encoder = Encoder::create(config, [&](const std::string& n) { return model.find(n); });
  REQUIRE(encoder.ok());
  SyntheticBatch batch;
  Encoder::Workspace ws;
  auto expect = [&](const EncoderInput& in, const std::string& fragment) {
    auto out = encoder->forward(in, ws);
    REQUIRE(!out.ok());
    CHECK(out.error().code() == errc::invalid_input);
    CHECK_MESSAGE(out.error().message().find(fragment) != std::string::npos, out.error().message());
  };

  SUBCASE("id out of range") {
    batch.ids[7 + 2] = config.vocab_size;
    expect(batch.input(), "input_ids at batch row 1, position 2 is 23, out of range [0, 23)");
  }
  SUBCASE("negative id") {
    batch.ids[0] = -1;
    expect(batch.input(), "input_ids at batch row 0, position 0");
  }
  SUBCASE("token type out of range") {
    batch.types[5] = 3;
    expect(batch.input(), "token_type_ids at batch row 0, position 5 is 3");
  }
  SUBCASE("mask not 0/1") {
    batch.mask[8] = 2;
    expect(batch.input(), "attention_mask at batch row 1, position 1 is 2");
  }
  SUBCASE("longer than the position table") {
    std::vector<std::int64_t> ids(10, 5);
    EncoderInput in;
    in.batch = 1;
    in.seq_len = 10;
    in.input_ids = ids.data();
    expect(in, "seq_len = 10 is out of range [1, 9]");
  }
  SUBCASE("empty shapes and null ids") {
    EncoderInput in = batch.input();
    in.batch = 0;
    expect(in, "batch = 0");
    in = batch.input();
    in.seq_len = 0;
    expect(in, "seq_len = 0");
    in = batch.input();
    in.input_ids = nullptr;
    expect(in, "input_ids is null");
  }
  SUBCASE("absurd batch") {
    EncoderInput in = batch.input();
    in.batch = std::int64_t(1) << 60;
    expect(in, "too large");
  }
}

TEST_CASE("model_config_from_hf_json") {
  const std::string base = R"({"model_type": "albert", "vocab_size": 100, "embedding_size": 4, "hidden_size": 8,
    "num_attention_heads": 2, "intermediate_size": 16, "num_hidden_layers": 3, "num_hidden_groups": 1,
    "inner_group_num": 1, "max_position_embeddings": 32, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
    "hidden_act": "gelu_new", "position_embedding_type": "absolute",
    "id2label": {"1": "B-PER", "0": "O", "2": "I-PER"}})";
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    const std::size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };

  SUBCASE("fields and labels in id order") {
    auto c = config_from_text(base);
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().what()));
    CHECK(c->vocab_size == 100);
    CHECK(c->hidden_size == 8);
    CHECK(c->head_dim() == 4);
    CHECK(c->hidden_act == albertner::activation::gelu_new);
    CHECK(c->labels == std::vector<std::string>{"O", "B-PER", "I-PER"});
  }
  SUBCASE("absent fields take AlbertConfig's defaults") {
    auto c = config_from_text(R"({"id2label": {"0": "O"}})");
    REQUIRE(c.ok());
    CHECK(c->hidden_size == 4096);
    CHECK(c->num_attention_heads == 64);
    CHECK(c->intermediate_size == 16384);
    CHECK(c->embedding_size == 128);
    CHECK(c->hidden_act == albertner::activation::gelu_new);
  }
  SUBCASE("no id2label: LABEL_i") {
    auto c = config_from_text(R"({"hidden_size": 768, "num_attention_heads": 12, "num_labels": 3})");
    REQUIRE(c.ok());
    CHECK(c->labels == std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"});
  }
  SUBCASE("unknown activation") {
    auto c = config_from_text(with("\"gelu_new\"", "\"swish\""));
    REQUIRE(!c.ok());
    CHECK(c.error().code() == errc::unsupported);
    CHECK(c.error().message().find("swish") != std::string::npos);
  }
  SUBCASE("heads do not divide the hidden size") {
    auto c = config_from_text(with("\"num_attention_heads\": 2", "\"num_attention_heads\": 3"));
    REQUIRE(!c.ok());
    CHECK(c.error().code() == errc::config);
  }
  SUBCASE("bad id2label keys") {
    CHECK(config_from_text(with("\"2\": \"I-PER\"", "\"3\": \"I-PER\"")).error().code() == errc::config);
    CHECK(config_from_text(with("\"2\": \"I-PER\"", "\"1\": \"I-PER\"")).error().code() == errc::config);
    CHECK(config_from_text(with("\"2\": \"I-PER\"", "\"x\": \"I-PER\"")).error().code() == errc::config);
    CHECK(config_from_text(with("\"2\": \"I-PER\"", "\"2\": 5")).error().code() == errc::config);
  }
  SUBCASE("wrong types and unsupported variants") {
    CHECK(config_from_text(with("\"hidden_size\": 8", "\"hidden_size\": 8.5")).error().code() == errc::config);
    CHECK(config_from_text(with("\"albert\"", "\"bert\"")).error().code() == errc::unsupported);
    CHECK(config_from_text(with("\"absolute\"", "\"relative_key\"")).error().code() == errc::unsupported);
    CHECK(config_from_text("[1]").error().code() == errc::config);
  }
}
