// albertner eval MODEL --data FILE [--json] [--predictions OUT] [--threads N] [--batch N] [--window N] [--overlap N]
// albertner eval --scored FILE [--json]
// Entity-level precision / recall / F1 (seqeval's default mode; conlleval's on B/I/O tags) on a CoNLL file.
#include "cli.hpp"

#include <albertner/detail/atomic_file.hpp>

#include <chrono>
#include <memory>

#include <unistd.h>

namespace albertner_cli {

namespace {
struct EvalArgs {
  std::string model, data, scored, predictions;
  bool json = false;
  std::size_t window = 0, overlap = 128, batch = 8, threads = 1;
  bool overlap_given = false;
};

using albertner::ChunkCounts;
using albertner::ConllScores;
using albertner::ConllSentence;

void append_fraction(std::string& out, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  out += buf;
}

std::string scores_json(const ConllScores& s) {
  std::string out = "{\"precision\":";
  append_fraction(out, s.overall.precision());
  out += ",\"recall\":";
  append_fraction(out, s.overall.recall());
  out += ",\"f1\":";
  append_fraction(out, s.overall.f1());
  out += ",\"accuracy\":";
  append_fraction(out, s.accuracy());
  out += ",\"per_type\":{";
  bool first = true;
  for (const auto& [type, c] : s.per_type) {
    if (!first) out += ',';
    first = false;
    albertner::detail::json_escape_to(out, type);
    out += ":{\"precision\":";
    append_fraction(out, c.precision());
    out += ",\"recall\":";
    append_fraction(out, c.recall());
    out += ",\"f1\":";
    append_fraction(out, c.f1());
    out += ",\"support\":" + std::to_string(c.gold) + "}";
  }
  return out + "}}\n";
}

// conlleval's report, with FB1 to 4 decimals and each type's gold count beside its found count.
std::string scores_table(const ConllScores& s) {
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "processed %zu tokens with %zu phrases; found: %zu phrases; correct: %zu.\n", s.tokens,
                s.overall.gold, s.overall.predicted, s.overall.correct);
  out += buf;
  std::snprintf(buf, sizeof buf, "accuracy: %6.2f%%; precision: %6.2f%%; recall: %6.2f%%; FB1: %8.4f\n",
                100 * s.accuracy(), 100 * s.overall.precision(), 100 * s.overall.recall(), 100 * s.overall.f1());
  out += buf;
  for (const auto& [type, c] : s.per_type) {
    std::snprintf(buf, sizeof buf, "%17s: precision: %6.2f%%; recall: %6.2f%%; FB1: %8.4f  found: %zu  gold: %zu\n",
                  type.c_str(), 100 * c.precision(), 100 * c.recall(), 100 * c.f1(), c.predicted, c.gold);
    out += buf;
  }
  return out;
}

struct Progress {
  std::chrono::steady_clock::time_point start;
};

void show_progress(void* user, std::size_t done, std::size_t total) {
  const Progress& p = *static_cast<const Progress*>(user);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - p.start).count();
  std::fprintf(stderr, "\ralbertner eval: %zu/%zu sentences, %.1f s", done, total, seconds);
  if (done == total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

int run_eval(const EvalArgs& a) {
  const bool scored = !a.scored.empty();
  if (scored && !a.data.empty()) return fail("give either --data (with MODEL) or --scored, not both");
  if (scored && !a.model.empty()) return fail("--scored scores an existing file: MODEL is not used");
  if (scored && !a.predictions.empty()) return fail("--predictions needs a model run (MODEL --data FILE)");
  if (!scored && (a.model.empty() || a.data.empty()))
    return fail("usage: albertner eval MODEL --data FILE  or  albertner eval --scored FILE");

  std::vector<ConllSentence> sentences;
  if (scored) {
    auto read = albertner::read_conll(a.scored, albertner::ConllFormat::scored);
    if (!read.ok()) return fail(read.error());
    sentences = std::move(read).value();
  } else {
    auto read = albertner::read_conll(a.data, albertner::ConllFormat::gold);
    if (!read.ok()) return fail(read.error());
    sentences = std::move(read).value();
    if (sentences.empty()) return fail(a.data + ": no sentences");

    albertner::TaggerOptions options;
    options.window = a.window;
    options.overlap = a.overlap;
    options.batch_size = a.batch;
    options.threads = a.threads;
    auto model = albertner::Model::open(a.model);
    if (!model.ok()) return fail(model.error());
    if (!a.overlap_given) {
      // As in `tag`: for a window smaller than 512 positions the default overlap falls back to half
      // the window's content.
      const std::size_t limit = static_cast<std::size_t>(
          std::min(model->config().max_position_embeddings, model->tokenizer_options().model_max_length));
      const std::size_t window = options.window ? options.window : limit;
      if (window >= 3 && options.overlap >= window - 2) options.overlap = (window - 2) / 2;
    }
    for (const std::string& label : model->config().labels)
      if (!albertner::is_conll_tag(label)) {
        std::fprintf(stderr,
                     "albertner eval: warning: model label '%s' is not O or B-/I-/E-/S-TYPE; its predictions "
                     "chunk as seqeval would\n",
                     label.c_str());
        break;
      }
    auto tagger = albertner::Tagger<float>::from_model(std::move(model).value(), options);
    if (!tagger.ok()) return fail(tagger.error().with_context(a.model));

    // Created before the run, so that an unwritable path fails at once.
    std::unique_ptr<albertner::detail::AtomicFile> file;
    if (!a.predictions.empty()) {
      auto created = albertner::detail::AtomicFile::create(a.predictions);
      if (!created.ok()) return fail(created.error());
      file.reset(new albertner::detail::AtomicFile(std::move(created).value()));
    }

    Progress progress{std::chrono::steady_clock::now()};
    albertner::PredictOptions predict;
    if (::isatty(STDERR_FILENO)) {
      predict.progress = &show_progress;
      predict.user = &progress;
    }
    auto tagged = albertner::predict_conll(*tagger, sentences, predict);
    if (!tagged.ok()) return fail(tagged.error().with_context(a.data));
    if (tagged->words_without_tokens > 0)
      std::fprintf(stderr, "albertner eval: %zu word(s) gave no token and were tagged O\n",
                   tagged->words_without_tokens);

    if (file) {
      const std::string text = albertner::format_conll_scored(sentences);
      auto st = file->write(text.data(), text.size());
      if (st.ok()) st = file->commit();
      if (!st.ok()) return fail(st.error());
    }
  }

  auto scores = albertner::score_conll(sentences);
  if (!scores.ok()) return fail(scores.error().with_context(scored ? a.scored : a.data));
  const std::string out = a.json ? scores_json(*scores) : scores_table(*scores);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
} // namespace

void add_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Entity-level precision, recall and F1 on a CoNLL file (conlleval rules)");
  cmd->add_option("MODEL", args->model, "Model file (not with --scored)");
  cmd->add_option("--data", args->data, "CoNLL file to tag: WORD ... GOLD per line, blank lines between sentences");
  cmd->add_option("--scored", args->scored, "Score an existing WORD ... GOLD PREDICTED file instead (no model)");
  cmd->add_flag("--json", args->json, "One JSON object: precision, recall, f1, accuracy, per_type (fractions)");
  cmd->add_option("--predictions", args->predictions, "Write WORD GOLD PREDICTED lines (conlleval's input) here");
  cmd->add_option("--window", args->window, "Positions per window incl. [CLS]/[SEP] (default: the model's limit)");
  CLI::Option* overlap = cmd->add_option("--overlap", args->overlap,
                                         "Tokens shared by consecutive windows of a long sentence (default: 128, or "
                                         "half the window's content when that is smaller)");
  cmd->add_option("--batch", args->batch, "Sequences per encoder call");
  cmd->add_option("--threads", args->threads, "Worker threads");
  cmd->callback([args, overlap] {
    args->overlap_given = overlap->count() > 0;
    exit_status() = run_eval(*args);
  });
}

} // namespace albertner_cli
