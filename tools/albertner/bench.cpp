// albertner bench [-m MODEL] [--lens 16,64,128,512] [--threads N] [--batch B] [--runs R] [--warmup W]
#include "cli.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>

namespace albertner_cli {

namespace {
struct BenchArgs {
  std::string model, positional, output;
  std::vector<std::int64_t> lens;
  std::int64_t threads = 1, batch = 1, runs = 20, warmup = 3;
};

using Encoder = albertner::Encoder;

// The token ids of `node ../shared/peers/ort/ort.mjs bench`, so that both engines do the same work:
// its LCG step by step in JavaScript's double arithmetic, one sequence continued across the lengths.
// Ids come from [5, 29995) as there, or from [5, vocab_size) for a smaller vocabulary.
class OrtIds {
public:
  explicit OrtIds(std::int64_t vocab_size) : span_(std::min<std::int64_t>(29990, vocab_size - 5)) {}

  std::vector<std::int64_t> next(std::int64_t T) {
    std::vector<std::int64_t> ids(static_cast<std::size_t>(T));
    for (std::int64_t& id : ids) {
      // The exact integer product rounded to a double is JavaScript's seed * 1103515245, and no
      // fused multiply-add can creep in.
      const auto product = static_cast<std::uint64_t>(seed_) * 1103515245u;
      seed_ = std::fmod(static_cast<double>(product) + 12345.0, 2147483648.0);
      id = 5 + static_cast<std::int64_t>(std::floor(seed_ / 2147483648.0 * static_cast<double>(span_)));
    }
    ids.front() = 2; // [CLS]
    ids.back() = 3;  // [SEP]
    return ids;
  }

private:
  std::int64_t span_;
  double seed_ = 12345;
};

// Shortest round-trip decimal without an exponent: what JSON.stringify prints for milliseconds.
void append_ms(std::string& out, double ms) {
  char buf[64];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, ms, std::chars_format::fixed).ptr);
}

int run_bench(const BenchArgs& a) {
  if (!a.positional.empty() && !a.model.empty())
    return usage("bench takes one model (-m/--model FILE, or as its argument)");
  const std::string path = a.model.empty() ? (a.positional.empty() ? default_model() : a.positional) : a.model;
  auto model = open_model(path);
  if (!model.ok()) return fail(model.error());
  const albertner::ModelConfig& config = model->config();
  // Default lengths: 16, 64, 128, 512 up to the model's positions (and the limit itself when it is
  // between them). Every given length is checked before any is timed: an error leaves stdout empty.
  std::vector<std::int64_t> lens = a.lens;
  if (lens.empty()) {
    for (std::int64_t T : {16, 64, 128, 512})
      if (T <= config.max_position_embeddings) lens.push_back(T);
    if (lens.empty() || (lens.back() < config.max_position_embeddings && lens.back() < 512))
      lens.push_back(std::min<std::int64_t>(config.max_position_embeddings, 512));
  }
  for (std::int64_t T : lens) {
    if (T > config.max_position_embeddings)
      return usage("--lens: length " + std::to_string(T) + " is longer than the model's max_position_embeddings (" +
                   std::to_string(config.max_position_embeddings) + ")");
  }
  if (config.vocab_size <= 5)
    return fail("vocab_size " + std::to_string(config.vocab_size) + " leaves no ids above the special ones (0-4)");
  auto encoder = albertner::make_encoder(*model);
  if (!encoder.ok()) return fail(encoder.error());
  auto output = Output::open(a.output);
  if (!output.ok()) return fail(output.error());
  std::unique_ptr<Output> out = std::move(output).value();

  Encoder::Workspace workspace;
  auto threads = workspace.set_threads(static_cast<std::size_t>(a.threads));
  if (!threads.ok()) return fail(threads.error());
  OrtIds ort_ids(config.vocab_size);
  for (std::int64_t T : lens) {
    const std::vector<std::int64_t> row = ort_ids.next(T);
    std::vector<std::int64_t> ids;
    for (std::int64_t b = 0; b < a.batch; ++b) ids.insert(ids.end(), row.begin(), row.end());
    const std::vector<std::int64_t> mask(ids.size(), 1);
    albertner::EncoderInput input;
    input.batch = a.batch;
    input.seq_len = T;
    input.input_ids = ids.data();
    input.attention_mask = mask.data();

    std::vector<double> times;
    for (std::int64_t i = 0; i < a.warmup + a.runs; ++i) {
      const auto start = std::chrono::steady_clock::now();
      auto out = encoder->forward(input, workspace);
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);
      if (!out.ok()) return fail(out.error());
      if (i >= a.warmup) times.push_back(static_cast<double>(ns.count()) / 1e6);
    }
    std::sort(times.begin(), times.end());
    const std::size_t n = times.size();
    const double median = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;

    std::string json = "{\"engine\":\"albertner\",\"threads\":" + std::to_string(a.threads) +
                       ",\"batch\":" + std::to_string(a.batch) + ",\"seq\":" + std::to_string(T) +
                       ",\"runs\":" + std::to_string(n) + ",\"median_ms\":";
    append_ms(json, median);
    json += ",\"min_ms\":";
    append_ms(json, times.front());
    json += ",\"max_ms\":";
    append_ms(json, times.back());
    json += "}\n";
    albertner::Status st = out->write(json); // one line per length as soon as it is measured
    if (!st.ok()) return fail(st.error());
  }
  albertner::Status st = out->commit();
  if (!st.ok()) return fail(st.error());
  return 0;
}
} // namespace

void add_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Time one forward pass (token ids -> logits) per sequence length; one JSON line per length");
  cmd->add_option("MODEL", args->positional, "The model, as -m");
  add_model_option(cmd, args->model);
  add_output_option(cmd, args->output);
  cmd->add_option("--lens", args->lens,
                  "Sequence lengths, comma-separated (default: 16,64,128,512 up to the model's max positions)")
      ->delimiter(',')
      ->check(in_range(1, 1 << 20));
  cmd->add_option("--threads", args->threads, "Threads of the forward pass, the calling one included")
      ->check(in_range(1, 256))
      ->capture_default_str();
  cmd->add_option("--batch", args->batch, "Sequences per forward pass")
      ->check(in_range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--runs", args->runs, "Timed runs per length")->check(in_range(1, 1000000))->capture_default_str();
  cmd->add_option("--warmup", args->warmup, "Untimed runs before them")
      ->check(in_range(0, 1000000))
      ->capture_default_str();
  cmd->callback([args] { exit_status() = run_bench(*args); });
}

} // namespace albertner_cli
