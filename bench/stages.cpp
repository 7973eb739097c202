// Per-stage benchmarks of the fp32 forward pass on the golden ALBERT-base model, plus
// tokenization, span decoding and the whole Tagger text -> entities path (Google Benchmark).
// The stages are timed as they run inside whole forward passes, through the encoder's one
// observation hook (StageObserver): the library has no benchmark-only entry points.
// Arguments: T (tokens per sequence, [CLS] and [SEP] included), batch (sequences or texts),
// threads. Counters: GFLOP/s, peak% (of threads x one core's fp32 FMA peak, AVX-512 or else AVX2,
// measured at startup and printed as fp32_peak_gflops in the context) and tokens/s.
// Usage: stages [--benchmark_filter=REGEX] [--benchmark_format=json] [--benchmark_out=FILE
//   --benchmark_out_format=json] ...   (docs/benchmarks.md)
// The model is SHARED/golden/base converted to a temporary file, or the converted model file
// named by the environment variable ALBERTNER_BENCH_MODEL.
#include <albertner/albertner.hpp>
#include <albertner/tooling.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <immintrin.h>
#include <unistd.h>

namespace {

using albertner::Encoder;
using albertner::Stage;
using Workspace = Encoder::Workspace;

constexpr std::int64_t kLengths[] = {8, 16, 32, 64, 128, 256, 512};
constexpr std::int64_t kBatches[] = {1, 8};
constexpr std::int64_t kThreads[] = {1, 2};
constexpr const char* kSentence = "John Smith flew from New York to Berlin on Monday for a meeting with Siemens. ";

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One core's fp32 peak: enough independent FMA chains, all in registers, to cover the FMA
// latency on every FMA port, so that issue throughput alone bounds the loop. The chains converge
// to add / (1 - mul) = 1: no overflow, no denormals.
__attribute__((target("avx512f,fma"))) double fp32_peak_gflops(double seconds) {
  constexpr int kChains = 16;
  constexpr std::int64_t kRounds = 1024;
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.0f + 0.01f * static_cast<float>(i));
  const __m512 mul = _mm512_set1_ps(0.999f), add = _mm512_set1_ps(0.001f);
  std::int64_t rounds = 0;
  const double start = now_seconds();
  double elapsed = 0.0;
  do {
    for (std::int64_t r = 0; r < kRounds; ++r) {
#pragma GCC unroll 16
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], mul, add);
    }
    rounds += kRounds;
    elapsed = now_seconds() - start;
  } while (elapsed < seconds);
  // Stored, not _mm512_reduce_add_ps: GCC 12 warns (-Wuninitialized) inside that intrinsic.
  for (int i = 1; i < kChains; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc[0]);
  benchmark::DoNotOptimize(lanes);
  return static_cast<double>(rounds) * kChains * 16 * 2 / elapsed / 1e9;
}

// The same with AVX2 FMA (8 lanes, 12 chains: two FMA ports of latency 4 to 5, and registers to
// spare of the 16), the peak of CPUs without AVX-512, where the avx2 kernels run.
__attribute__((target("avx2,fma"))) double fp32_avx2_peak_gflops(double seconds) {
  constexpr int kChains = 12;
  constexpr std::int64_t kRounds = 1024;
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(1.0f + 0.01f * static_cast<float>(i));
  const __m256 mul = _mm256_set1_ps(0.999f), add = _mm256_set1_ps(0.001f);
  std::int64_t rounds = 0;
  const double start = now_seconds();
  double elapsed = 0.0;
  do {
    for (std::int64_t r = 0; r < kRounds; ++r) {
#pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
    }
    rounds += kRounds;
    elapsed = now_seconds() - start;
  } while (elapsed < seconds);
  for (int i = 1; i < kChains; ++i) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc[0]);
  benchmark::DoNotOptimize(lanes);
  return static_cast<double>(rounds) * kChains * 8 * 2 / elapsed / 1e9;
}

/// What every benchmark shares, set up once in main.
struct Fixture {
  // taggers[k] and workspaces[k] run on kThreads[k] threads; the encoder benchmarks use
  // taggers[0]'s encoder (the same weights).
  std::vector<std::unique_ptr<albertner::Tagger<>>> taggers;
  std::vector<std::unique_ptr<Workspace>> workspaces;
  std::vector<std::int64_t> long_ids; // [CLS] + more than max(kLengths) tokens of repeated kSentence
  std::map<std::int64_t, std::string> texts;
  double peak_gflops = 0.0;                          // 0: no AVX2 or AVX-512 here, peak% is not reported
  std::vector<albertner::ConllSentence> conll_valid; // SHARED/data/conll2003/valid.txt, when present
  // The (T, batch) whose forward() each workspace last ran: the per-stage benchmarks that follow
  // with the same shape skip their warm-up forward().
  std::vector<std::pair<std::int64_t, std::int64_t>> forwarded;
  double min_time = 0.05; // --benchmark_min_time: a per-stage benchmark's forward passes run at least this long
};
Fixture* fixture = nullptr;

const albertner::Encoder& encoder() { return fixture->taggers[0]->encoder(); }
const albertner::Tokenizer& tokenizer() { return fixture->taggers[0]->tokenizer(); }

std::size_t thread_index(std::int64_t threads) {
  return static_cast<std::size_t>(std::find(std::begin(kThreads), std::end(kThreads), threads) - std::begin(kThreads));
}

/// The longest prefix of repeated kSentence, cut between words, that encodes to at most T tokens.
const std::string& text_of_length(std::int64_t T) {
  auto it = fixture->texts.find(T);
  if (it != fixture->texts.end()) return it->second;
  std::string repeated;
  while (repeated.size() < 8 * static_cast<std::size_t>(T)) repeated += kSentence; // ~4.5 bytes a token
  std::vector<std::size_t> word_ends;
  for (std::size_t i = 0; i < repeated.size(); ++i)
    if (repeated[i] == ' ') word_ends.push_back(i);
  auto tokens = [&](std::size_t words) {
    auto e = tokenizer().encode(repeated.substr(0, word_ends[words - 1]));
    return e.ok() ? static_cast<std::int64_t>(e->size()) : T + 1;
  };
  // Token counts grow with the word count (words are tokenized one by one): binary search.
  std::size_t lo = 1, hi = word_ends.size();
  while (lo < hi) {
    const std::size_t mid = (lo + hi + 1) / 2;
    if (tokens(mid) <= T) lo = mid;
    else hi = mid - 1;
  }
  return fixture->texts[T] = repeated.substr(0, word_ends[lo - 1]);
}

std::int64_t token_count(const std::string& text) {
  auto e = tokenizer().encode(text);
  return e.ok() ? static_cast<std::int64_t>(e->size()) : 0;
}

/// FLOPs of one run of a stage on [B, T] (multiply-adds count 2; softmax, LayerNorm and the
/// activation are left out); Stage::layer is one loop iteration.
double stage_flops(Stage stage, double B, double T) {
  const albertner::ModelConfig& c = encoder().config();
  const double rows = B * T, E = static_cast<double>(c.embedding_size), H = static_cast<double>(c.hidden_size),
               I = static_cast<double>(c.intermediate_size), heads = static_cast<double>(c.num_attention_heads),
               d = H / heads, labels = static_cast<double>(c.num_labels());
  switch (stage) {
  case Stage::embeddings: return 0.0;
  case Stage::projection: return 2 * rows * E * H;
  case Stage::qkv: return 2 * rows * H * 3 * H;
  case Stage::attention: return 2 * (2 * B * heads * T * T * d); // scores and context
  case Stage::attention_output: return 2 * rows * H * H;
  case Stage::ffn_in:
  case Stage::ffn_out: return 2 * rows * H * I;
  case Stage::layer: {
    double layer = 0.0;
    for (Stage s : {Stage::qkv, Stage::attention, Stage::attention_output, Stage::ffn_in, Stage::ffn_out})
      layer += stage_flops(s, B, T);
    return static_cast<double>(c.inner_group_num) * layer;
  }
  case Stage::head: return 2 * rows * H * labels;
  }
  return 0.0;
}

double forward_flops(double B, double T) {
  return stage_flops(Stage::projection, B, T) +
         static_cast<double>(encoder().config().num_hidden_layers) * stage_flops(Stage::layer, B, T) +
         stage_flops(Stage::head, B, T);
}

/// Rates over the wall time of the timed loop (the benchmarks use real time: worker threads'
/// CPU time is not the main thread's). Set by hand so that the console shows "GFLOP/s=42",
/// not a rate counter's "GFLOP/s=42/s".
void report(benchmark::State& state, double seconds, double flops, double tokens, std::int64_t threads) {
  const double iterations = static_cast<double>(state.iterations());
  state.counters["tokens/s"] = tokens * iterations / seconds;
  if (flops <= 0.0) return;
  const double gflops = flops * iterations / seconds / 1e9;
  state.counters["GFLOP/s"] = gflops;
  if (fixture->peak_gflops > 0.0)
    state.counters["peak%"] = 100.0 * gflops / (fixture->peak_gflops * static_cast<double>(threads));
}

/// B rows of [CLS] + the first T - 2 tokens + [SEP]: exactly T positions, no padding.
/// B copies of the first T - 1 tokens of the long text and [SEP], as an encoder input (no padding).
struct EncoderCase {
  std::vector<std::int64_t> ids;
  albertner::EncoderInput input;

  EncoderCase(std::int64_t T, std::int64_t B) {
    std::vector<std::int64_t> row(fixture->long_ids.begin(), fixture->long_ids.begin() + (T - 1));
    row.push_back(tokenizer().sep_id());
    for (std::int64_t b = 0; b < B; ++b) ids.insert(ids.end(), row.begin(), row.end());
    input.batch = B;
    input.seq_len = T;
    input.input_ids = ids.data();
  }
  EncoderCase(const EncoderCase&) = delete; // input points into ids
  EncoderCase& operator=(const EncoderCase&) = delete;
};

/// Times one stage inside forward passes, as Encoder's StageObserver: a stage runs from the
/// observer's previous call (or from `last`, set just before forward() is called) to its own
/// call; a loop iteration (Stage::layer) from the call before its first qkv to its layer call.
/// The observer is called on the calling thread once each parallel step is done, so the times
/// include the wait for the worker threads.
struct StageTimer {
  Stage stage = Stage::head;
  double last = 0.0, iteration_start = 0.0;
  double total = 0.0; // seconds in `stage`
  std::int64_t runs = 0;

  static void on_stage(void* user, Stage stage, std::int64_t, const float*, std::int64_t, std::int64_t) {
    StageTimer& t = *static_cast<StageTimer*>(user);
    const double now = now_seconds();
    if (stage == t.stage) {
      t.total += now - (stage == Stage::layer ? t.iteration_start : t.last);
      ++t.runs;
    }
    if (stage == Stage::projection || stage == Stage::layer) t.iteration_start = now;
    t.last = now;
  }
};

struct Shape {
  std::int64_t T, batch, threads;
};
Shape shape_of(const benchmark::State& state) { return {state.range(0), state.range(1), state.range(2)}; }

// One benchmark iteration: forward passes for at least --benchmark_min_time (one at least), the
// stage timed in each by the observer; the iteration's (manual) time is the mean of one run of
// the stage over all its runs there (12 per pass inside the loop, else 1).
void bench_stage(benchmark::State& state, Stage stage) {
  const Shape s = shape_of(state);
  const std::size_t k = thread_index(s.threads);
  Workspace& ws = *fixture->workspaces[k];
  const EncoderCase c(s.T, s.batch);
  const albertner::EncoderInput& input = c.input;
  const auto shape = std::make_pair(s.T, s.batch);
  if (fixture->forwarded[k] != shape) {
    auto reserved = encoder().reserve(ws, s.batch, s.T);
    if (!reserved.ok()) return state.SkipWithError(reserved.error().what().c_str());
    auto warm = encoder().forward(input, ws);
    if (!warm.ok()) return state.SkipWithError(warm.error().what().c_str());
    fixture->forwarded[k] = shape;
  }
  StageTimer timer;
  timer.stage = stage;
  const albertner::StageObserver observer{&StageTimer::on_stage, &timer};
  for (auto _ : state) {
    timer.total = 0.0;
    timer.runs = 0;
    const double start = now_seconds();
    do {
      timer.last = now_seconds();
      auto out = encoder().forward(input, ws, observer);
      if (!out.ok()) return state.SkipWithError(out.error().what().c_str());
    } while (now_seconds() - start < fixture->min_time);
    if (timer.runs == 0) return state.SkipWithError("the observer never saw the stage");
    state.SetIterationTime(timer.total / static_cast<double>(timer.runs));
  }
  const double seconds = timer.total / static_cast<double>(timer.runs) * static_cast<double>(state.iterations());
  report(state, seconds, stage_flops(stage, static_cast<double>(s.batch), static_cast<double>(s.T)),
         static_cast<double>(s.batch * s.T), s.threads);
  state.counters["runs"] = static_cast<double>(timer.runs);
}

void bench_forward(benchmark::State& state) {
  const Shape s = shape_of(state);
  const std::size_t k = thread_index(s.threads);
  Workspace& ws = *fixture->workspaces[k];
  const EncoderCase c(s.T, s.batch);
  const albertner::EncoderInput& input = c.input;
  auto reserved = encoder().reserve(ws, s.batch, s.T);
  if (!reserved.ok()) return state.SkipWithError(reserved.error().what().c_str());
  fixture->forwarded[k] = {s.T, s.batch};
  const double start = now_seconds();
  for (auto _ : state) {
    auto out = encoder().forward(input, ws);
    if (!out.ok()) return state.SkipWithError(out.error().what().c_str());
    benchmark::DoNotOptimize(out->logits);
  }
  report(state, now_seconds() - start, forward_flops(static_cast<double>(s.batch), static_cast<double>(s.T)),
         static_cast<double>(s.batch * s.T), s.threads);
}

void bench_tokenize(benchmark::State& state) {
  const Shape s = shape_of(state);
  const std::string& text = text_of_length(s.T);
  const double start = now_seconds();
  for (auto _ : state)
    for (std::int64_t b = 0; b < s.batch; ++b) {
      auto e = tokenizer().encode(text);
      if (!e.ok()) return state.SkipWithError(e.error().what().c_str());
      benchmark::DoNotOptimize(e->ids.data());
    }
  report(state, now_seconds() - start, 0.0, static_cast<double>(s.batch * token_count(text)), s.threads);
}

// The tokenizer alone over every CoNLL-2003 validation sentence, as text (its words joined by
// spaces, as `albertner tag` would get it; state.range(0) = 0) or as words (`eval`'s input, 1).
void bench_tokenize_conll(benchmark::State& state) {
  const bool words = state.range(0) == 1;
  std::vector<std::string> texts;
  for (const albertner::ConllSentence& s : fixture->conll_valid) {
    std::string text;
    for (const std::string& w : s.words) text += (text.empty() ? "" : " ") + w;
    texts.push_back(text);
  }
  std::int64_t tokens = 0;
  for (auto _ : state)
    for (std::size_t i = 0; i < texts.size(); ++i) {
      auto e = words ? tokenizer().encode_words(fixture->conll_valid[i].words) : tokenizer().encode(texts[i]);
      if (!e.ok()) return state.SkipWithError(e.error().what().c_str());
      tokens += static_cast<std::int64_t>(e->ids.size());
      benchmark::DoNotOptimize(e->ids.data());
    }
  const double iterations = static_cast<double>(state.iterations());
  state.counters["sentences/s"] =
      benchmark::Counter(iterations * static_cast<double>(texts.size()), benchmark::Counter::kIsRate);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

void bench_decode(benchmark::State& state) {
  const Shape s = shape_of(state);
  albertner::Tagger<>& tagger = *fixture->taggers[0];
  const std::string& text = text_of_length(s.T);
  auto encoding = tokenizer().encode(text);
  if (!encoding.ok()) return state.SkipWithError(encoding.error().what().c_str());
  // The logits Tagger::tag decodes for this text, and the options it decodes them with.
  auto logits = tagger.document_logits({*encoding});
  if (!logits.ok()) return state.SkipWithError(logits.error().what().c_str());
  const std::vector<albertner::TokenInfo> tokens = tagger.token_infos(*encoding);
  const albertner::DecodeOptions options{*tagger.options().aggregation, tagger.options().ignore_labels,
                                         tokenizer().unk_id()};
  const std::size_t num_labels = tagger.labels().size();
  const double start = now_seconds();
  for (auto _ : state)
    for (std::int64_t b = 0; b < s.batch; ++b) {
      auto entities =
          albertner::decode_entities(text, tokens, logits->front().data(), num_labels, tagger.labels(), options);
      if (!entities.ok()) return state.SkipWithError(entities.error().what().c_str());
      benchmark::DoNotOptimize(entities->data());
    }
  report(state, now_seconds() - start, 0.0, static_cast<double>(s.batch) * static_cast<double>(encoding->size()),
         s.threads);
}

void bench_tag(benchmark::State& state) {
  const Shape s = shape_of(state);
  albertner::Tagger<>& tagger = *fixture->taggers[thread_index(s.threads)];
  // tag(text) is tag_batch({text}); `batch` texts fill one encoder batch (batch_size 8). The
  // FLOPs assume one window per text, as for every T here with a 512-position model.
  const std::vector<std::string> texts(static_cast<std::size_t>(s.batch), text_of_length(s.T));
  const std::int64_t tokens = token_count(texts.front());
  const double start = now_seconds();
  for (auto _ : state) {
    auto entities = tagger.tag_batch(texts);
    if (!entities.ok()) return state.SkipWithError(entities.error().what().c_str());
    benchmark::DoNotOptimize(entities->data());
  }
  report(state, now_seconds() - start, forward_flops(static_cast<double>(s.batch), static_cast<double>(tokens)),
         static_cast<double>(s.batch * tokens), s.threads);
}

// The stages timed, by benchmark name (encoder/NAME); "iteration" is Stage::layer.
const std::array<std::pair<const char*, Stage>, 9> kStages = {{
    {"embeddings", Stage::embeddings},
    {"projection", Stage::projection},
    {"qkv", Stage::qkv},
    {"attention", Stage::attention},
    {"attention_output", Stage::attention_output},
    {"ffn_in", Stage::ffn_in},
    {"ffn_out", Stage::ffn_out},
    {"iteration", Stage::layer},
    {"head", Stage::head},
}};

// Shape-major order: every benchmark of one (T, batch, threads) runs back to back, so the stage
// benchmarks share one warm-up forward() per shape and per-shape results read as one table.
void register_benchmarks() {
  auto add = [](const std::string& name, auto&& fn, std::int64_t T, std::int64_t batch, std::int64_t threads) {
    return benchmark::RegisterBenchmark(name.c_str(), fn)
        ->Args({T, batch, threads})
        ->ArgNames({"T", "batch", "threads"})
        ->Unit(benchmark::kMillisecond);
  };
  for (std::int64_t T : kLengths)
    for (std::int64_t batch : kBatches)
      for (std::int64_t threads : kThreads) {
        for (const auto& stage : kStages) {
          auto run = [stage](benchmark::State& state) { bench_stage(state, stage.second); };
          add(std::string("encoder/") + stage.first, run, T, batch, threads)->UseManualTime()->Iterations(1);
        }
        add("encoder/forward", bench_forward, T, batch, threads)->UseRealTime();
        if (threads == 1) { // single-threaded code: one thread only
          add("tokenize", bench_tokenize, T, batch, threads)->UseRealTime();
          add("decode", bench_decode, T, batch, threads)->UseRealTime();
        }
        add("tagger/tag", bench_tag, T, batch, threads)->UseRealTime();
      }
  if (!fixture->conll_valid.empty())
    for (const char* form : {"text", "words"})
      benchmark::RegisterBenchmark((std::string("tokenize/conll_valid/") + form).c_str(), bench_tokenize_conll)
          ->Arg(std::string(form) == "words" ? 1 : 0)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
}

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

} // namespace

int main(int argc, char** argv) {
  // Google Benchmark's default of 0.5 s per benchmark would make the whole matrix take long (a
  // forward at T=512, batch 8 takes seconds): 0.05 s unless the command line says otherwise
  // (the last --benchmark_min_time wins, and the user's come after this one).
  char default_min_time[] = "--benchmark_min_time=0.05";
  std::vector<char*> args(argv, argv + argc);
  args.insert(args.begin() + 1, default_min_time);
  // The per-stage benchmarks run one iteration of their own (bench_stage): they read it too.
  double min_time = 0.05;
  for (char* arg : args)
    if (std::strncmp(arg, "--benchmark_min_time=", 21) == 0) min_time = std::strtod(arg + 21, nullptr);
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

  std::string model_path;
  std::string temporary;
  if (const char* env = std::getenv("ALBERTNER_BENCH_MODEL"); env && *env) {
    model_path = env;
  } else {
    const std::string base = std::string(ALBERTNER_SHARED_DIR) + "/golden/base";
    if (access((base + "/config.json").c_str(), R_OK) != 0) {
      std::printf("stages: skipped: %s/config.json not found (set ALBERTNER_BENCH_MODEL to a converted model)\n",
                  base.c_str());
      return 0;
    }
    char name[] = "/tmp/albertner-stages-XXXXXX.safetensors";
    const int fd = mkstemps(name, 12);
    if (fd < 0) {
      std::perror("stages: mkstemps");
      return 1;
    }
    close(fd);
    temporary = model_path = name;
    auto converted = albertner::convert_hf_checkpoint(base, model_path);
    if (!converted.ok()) {
      std::fprintf(stderr, "stages: converting %s: %s\n", base.c_str(), converted.error().what().c_str());
      unlink(name);
      return 1;
    }
  }

  Fixture f;
  fixture = &f;
  f.min_time = min_time;
  for (std::int64_t threads : kThreads) {
    albertner::TaggerOptions options;
    options.threads = static_cast<std::size_t>(threads);
    auto tagger = albertner::Tagger<>::open(model_path, options);
    f.workspaces.push_back(std::make_unique<Workspace>());
    auto started = f.workspaces.back()->set_threads(static_cast<std::size_t>(threads));
    if (!tagger.ok() || !started.ok()) {
      std::fprintf(stderr, "stages: %s\n", (tagger.ok() ? started.error() : tagger.error()).what().c_str());
      if (!temporary.empty()) unlink(temporary.c_str());
      return 1;
    }
    f.taggers.push_back(std::make_unique<albertner::Tagger<>>(std::move(tagger).value()));
  }
  if (!temporary.empty()) unlink(temporary.c_str()); // the taggers keep their mappings
  f.forwarded.assign(f.workspaces.size(), {0, 0});

  std::string long_text;
  const std::int64_t longest = *std::max_element(std::begin(kLengths), std::end(kLengths));
  while (static_cast<std::int64_t>(long_text.size()) < 8 * longest) long_text += kSentence; // > 1.5 tokens spare
  auto long_encoding = tokenizer().encode(long_text);
  if (!long_encoding.ok()) {
    std::fprintf(stderr, "stages: %s\n", long_encoding.error().what().c_str());
    return 1;
  }
  f.long_ids.assign(long_encoding->ids.begin(), long_encoding->ids.end());
  const std::string valid = std::string(ALBERTNER_SHARED_DIR) + "/data/conll2003/valid.txt";
  if (auto sentences = albertner::read_conll(valid); sentences.ok()) f.conll_valid = std::move(*sentences);
  else std::printf("stages: tokenize/conll_valid skipped: %s\n", sentences.error().what().c_str());

  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  if (avx512 || (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
    // Best of three, so that a clock still ramping up does not lower the peak.
    for (int i = 0; i < 3; ++i)
      f.peak_gflops = std::max(f.peak_gflops, avx512 ? fp32_peak_gflops(0.1) : fp32_avx2_peak_gflops(0.1));
    benchmark::AddCustomContext("fp32_peak_gflops", format_double(f.peak_gflops) + (avx512 ? " (AVX-512)" : " (AVX2)"));
  } else {
    benchmark::AddCustomContext("fp32_peak_gflops", "n/a (no AVX2 or AVX-512: peak% not reported)");
  }
  const albertner::ModelConfig& c = encoder().config();
  benchmark::AddCustomContext(
      "model", std::to_string(c.num_hidden_layers) + " layers, H " + std::to_string(c.hidden_size) + ", I " +
                   std::to_string(c.intermediate_size) + ", E " + std::to_string(c.embedding_size) + ", " +
                   std::to_string(c.num_attention_heads) + " heads");

  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
