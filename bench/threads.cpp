// Threads: does `threads = 2` pay, and does it ever hurt? Two measurements on one model file.
//
//   latency  Tagger::tag of one sentence (about 20 tokens; --text to change it), a Tagger with
//            1 thread against one with 2, calls alternating so both see the same noise; median and
//            90th percentile over --runs calls each, with 0, 1 and 2 busy competitor processes
//            (each spins on one core for the whole measurement).
//   batch    Tagger::tag_batch over the sentences of a CoNLL file (--conll; its words joined by
//            spaces), in calls of --chunk texts (default 0: all in one call), 1 thread and 2 threads: sentences/s, the
//            padding the length-sorted groups added, and GFLOP/s of the encoder's useful work (padding not counted);
//            with --peak G (GFLOP/s of one core, see bench/threads.sh) also % of the peak of the cores used.
//
//   threads MODEL [--conll FILE] [--runs 300] [--chunk 0] [--batch 8] [--text T] [--peak G]
//           [--competitors 0,1,2]
// Prints one JSON line per measurement. bench/threads.sh builds it and runs it.
#include <albertner/tooling.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;
using albertner::Tagger;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

/// Starts `n` processes that each spin until killed (and die with this one).
std::vector<pid_t> start_competitors(int n) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      volatile double x = 1.0;
      for (;;) x = x * 1.0000001 + 1e-9;
    }
    if (pid > 0) pids.push_back(pid);
  }
  usleep(200 * 1000); // let them reach the scheduler's steady state
  return pids;
}

void stop_competitors(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) kill(pid, SIGKILL);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
}

std::vector<int> parse_ints(const std::string& s) {
  std::vector<int> out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    out.push_back(std::atoi(s.substr(i, j - i).c_str()));
    i = j + 1;
  }
  return out;
}

/// Multiply-adds ×2 of one encoder pass over a group of sequences padded to `padded` tokens
/// (counted per row at its own length when `padded` is 0): embedding projection, the shared layer
/// × iterations (Q, K, V, output, the two FFN products, scores and context), the head.
double flops(const albertner::ModelConfig& c, const std::vector<std::size_t>& lengths, std::size_t padded) {
  const double E = static_cast<double>(c.embedding_size), H = static_cast<double>(c.hidden_size),
               F = static_cast<double>(c.intermediate_size), N = static_cast<double>(c.num_hidden_layers),
               Lb = static_cast<double>(c.num_labels());
  double total = 0;
  for (std::size_t len : lengths) {
    const double T = static_cast<double>(padded ? padded : len);
    total += 2 * T * E * H + N * (2 * T * (4 * H * H + 2 * H * F) + 4 * T * T * H) + 2 * T * H * Lb;
  }
  return total;
}

int fail(const albertner::Error& e) {
  std::fprintf(stderr, "threads: %s\n", e.what().c_str());
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: threads MODEL [--conll FILE] [--runs 300] [--chunk 0] [--batch 8] [--text T] "
                 "[--peak GFLOPS] [--competitors 0,1,2]\n");
    return 2;
  }
  const std::string model_path = argv[1];
  std::string conll, text =
                         "Angela Merkel met Emmanuel Macron in Paris on Tuesday to discuss the budget of the "
                         "European Union.";
  int runs = 300;
  std::size_t chunk = 0, batch = 8; // chunk 0: one tag_batch call for all
  double peak = 0;
  std::vector<int> competitors = {0, 1, 2};
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--conll") conll = value;
    else if (flag == "--runs") runs = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--chunk") chunk = static_cast<std::size_t>(std::max(0, std::atoi(value.c_str())));
    else if (flag == "--batch") batch = static_cast<std::size_t>(std::max(1, std::atoi(value.c_str())));
    else if (flag == "--text") text = value;
    else if (flag == "--peak") peak = std::atof(value.c_str());
    else if (flag == "--competitors") competitors = parse_ints(value);
    else {
      std::fprintf(stderr, "threads: unknown option %s\n", flag.c_str());
      return 2;
    }
  }

  std::vector<Tagger<>> taggers; // [0]: 1 thread, [1]: 2 threads
  for (std::size_t threads : {1, 2}) {
    albertner::TaggerOptions options;
    options.threads = threads;
    options.batch_size = batch;
    auto t = Tagger<>::open(model_path, options);
    if (!t.ok()) return fail(t.error());
    taggers.push_back(std::move(*t));
  }
  const albertner::ModelConfig& config = taggers[0].model().config();
  auto encoded = taggers[0].tokenizer().encode(text);
  if (!encoded.ok()) return fail(encoded.error());
  const std::size_t tokens = encoded->ids.size();

  // Latency of one sentence.
  for (int busy : competitors) {
    std::vector<double> ms[2];
    for (int w = 0; w < 20; ++w)
      for (auto& t : taggers) (void)t.tag(text);
    const std::vector<pid_t> pids = start_competitors(busy);
    for (int r = 0; r < runs; ++r)
      for (int k = 0; k < 2; ++k) {
        const int which = (r % 2) ? 1 - k : k; // alternate who goes first
        const auto t0 = Clock::now();
        auto entities = taggers[which].tag(text);
        ms[which].push_back(ms_since(t0));
        if (!entities.ok()) {
          stop_competitors(pids);
          return fail(entities.error());
        }
      }
    stop_competitors(pids);
    const double m1 = percentile(ms[0], 0.5), m2 = percentile(ms[1], 0.5);
    std::printf(
        "{\"bench\":\"latency\",\"tokens\":%zu,\"competitors\":%d,\"runs\":%d,"
        "\"median_ms_1\":%.4f,\"median_ms_2\":%.4f,\"p90_ms_1\":%.4f,\"p90_ms_2\":%.4f,"
        "\"speedup_2_vs_1\":%.3f}\n",
        tokens, busy, runs, m1, m2, percentile(ms[0], 0.9), percentile(ms[1], 0.9), m1 / m2);
    std::fflush(stdout);
  }

  if (conll.empty()) return 0;
  auto sentences = albertner::read_conll(conll);
  if (!sentences.ok()) return fail(sentences.error());
  std::vector<std::string> texts;
  for (const auto& s : *sentences) {
    std::string t;
    for (const auto& w : s.words) t += (t.empty() ? "" : " ") + w;
    texts.push_back(std::move(t));
  }
  if (chunk == 0) chunk = texts.size();
  // The groups tag_batch makes: each chunk's texts sorted longest first, batch_size at a time.
  double useful = 0, padded_tokens = 0, real_tokens = 0, done_flops = 0;
  for (std::size_t c = 0; c < texts.size(); c += chunk) {
    std::vector<std::size_t> lengths;
    for (std::size_t i = c; i < std::min(texts.size(), c + chunk); ++i) {
      auto e = taggers[0].tokenizer().encode(texts[i]);
      if (!e.ok()) return fail(e.error());
      lengths.push_back(e->ids.size());
    }
    std::sort(lengths.rbegin(), lengths.rend());
    for (std::size_t g = 0; g < lengths.size(); g += batch) {
      const std::vector<std::size_t> group(
          lengths.begin() + static_cast<std::ptrdiff_t>(g),
          lengths.begin() + static_cast<std::ptrdiff_t>(std::min(lengths.size(), g + batch)));
      useful += flops(config, group, 0);
      done_flops += flops(config, group, group.front());
      padded_tokens += static_cast<double>(group.front() * group.size());
      for (std::size_t n : group) real_tokens += static_cast<double>(n);
    }
  }
  for (std::size_t k = 0; k < 2; ++k) {
    (void)taggers[k].tag_batch(
        std::vector<std::string>(texts.begin(), texts.begin() + std::min<std::size_t>(64, texts.size())));
    const auto t0 = Clock::now();
    std::size_t entities = 0;
    for (std::size_t c = 0; c < texts.size(); c += chunk) {
      const std::vector<std::string> part(
          texts.begin() + static_cast<std::ptrdiff_t>(c),
          texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), c + chunk)));
      auto out = taggers[k].tag_batch(part);
      if (!out.ok()) return fail(out.error());
      for (const auto& e : *out) entities += e.size();
    }
    const double s = ms_since(t0) / 1000;
    const double gflops = useful / s / 1e9;
    std::printf(
        "{\"bench\":\"batch\",\"threads\":%zu,\"sentences\":%zu,\"chunk\":%zu,\"batch_size\":%zu,"
        "\"seconds\":%.3f,\"sentences_per_s\":%.1f,\"entities\":%zu,\"tokens\":%.0f,"
        "\"padding_fraction\":%.4f,\"padding_flops_fraction\":%.4f,\"gflops\":%.2f",
        k + 1, texts.size(), chunk, batch, s, static_cast<double>(texts.size()) / s, entities, real_tokens,
        1 - real_tokens / padded_tokens, 1 - useful / done_flops, gflops);
    if (peak > 0)
      std::printf(",\"peak_gflops\":%.1f,\"percent_of_peak\":%.1f", peak * double(k + 1),
                  100 * gflops / (peak * double(k + 1)));
    std::printf("}\n");
    std::fflush(stdout);
  }
  return 0;
}
