// albertner eval [-m MODEL] -i/--data FILE [--json] [-o OUT] [--predictions OUT] [--threads N] [--batch N] [--window N]
// [--overlap N] albertner eval --scored FILE [--json] Entity-level precision / recall / F1 (seqeval's default mode;
// conlleval's on B/I/O tags) on a CoNLL file.
#include "cli.hpp"

#include <albertner/tooling/files.hpp>

#include <memory>

namespace albertner_cli {

namespace {
struct EvalArgs {
  std::string model, data, scored, predictions, output;
  std::vector<std::string> positionals;
  bool json = false, constrained = false;
  std::int64_t window = 0, overlap = -1, batch = 8, threads = 1;
  ProgressFlags progress;
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
    albertner::json_escape_to(out, type);
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

// A CoNLL file, or standard input for "-".
albertner::Result<std::vector<ConllSentence>> read_sentences(const std::string& path, albertner::ConllFormat format) {
  if (path != "-") return albertner::read_conll(path, format);
  ALBERTNER_TRY(std::string text, read_input(path));
  return albertner::parse_conll(text, "stdin", format);
}

void show_progress(void* user, std::size_t done, std::size_t total) {
  static_cast<ProgressLine*>(user)->update(done, static_cast<double>(done) / static_cast<double>(total), done == total);
}

int run_eval(EvalArgs a) {
  const bool scored = !a.scored.empty();
  if (a.positionals.size() > 1 || (a.positionals.size() == 1 && !a.model.empty()))
    return usage("eval takes one model (-m/--model FILE, or as its argument)");
  if (!a.positionals.empty()) a.model = a.positionals.front();
  if (scored && !a.data.empty()) return usage("give either -i/--data (with a model) or --scored, not both");
  if (scored && !a.model.empty()) return usage("--scored scores an existing file: a model is not used");
  if (scored && !a.predictions.empty()) return usage("--predictions needs a model run (-i/--data FILE)");
  if (scored && a.constrained) return usage("--constrained needs a model run (-i/--data FILE)");
  if (!scored && a.data.empty()) return usage("eval needs -i/--data FILE (a CoNLL file to tag) or --scored FILE");
  if (a.model.empty()) a.model = default_model();

  std::vector<ConllSentence> sentences;
  if (scored) {
    auto read = read_sentences(a.scored, albertner::ConllFormat::scored);
    if (!read.ok()) return fail(read.error());
    sentences = std::move(read).value();
  } else {
    auto read = read_sentences(a.data, albertner::ConllFormat::gold);
    if (!read.ok()) return fail(read.error());
    sentences = std::move(read).value();
    if (sentences.empty()) return fail(a.data + ": no sentences");

    // The Tagger's defaults, as `tag`: window = the model's limit, overlap = window / 4.
    albertner::TaggerOptions options;
    options.window = static_cast<std::size_t>(a.window);
    options.overlap = a.overlap < 0 ? albertner::TaggerOptions::auto_size : static_cast<std::size_t>(a.overlap);
    options.batch_size = static_cast<std::size_t>(a.batch);
    options.threads = static_cast<std::size_t>(a.threads);
    auto model = open_model(a.model);
    if (!model.ok()) return fail(model.error());
    for (const std::string& label : model->config().labels)
      if (!albertner::is_conll_tag(label)) {
        std::fprintf(stderr,
                     "albertner eval: warning: model label '%s' is not O or B-/I-/E-/S-TYPE; its predictions "
                     "chunk as seqeval would\n",
                     label.c_str());
        break;
      }
    auto tagger = albertner::Tagger<>::from_model(std::move(model).value(), options);
    if (!tagger.ok()) return fail(tagger.error().with_context(a.model));

    // Created before the run, so that an unwritable path fails at once.
    std::unique_ptr<albertner::AtomicFile> file;
    if (!a.predictions.empty()) {
      auto created = albertner::AtomicFile::create(a.predictions);
      if (!created.ok()) return fail(name_user_path(created.error(), a.predictions));
      file.reset(new albertner::AtomicFile(std::move(created).value()));
    }

    ProgressLine progress(a.progress.enabled(), "eval", "sentences");
    albertner::PredictOptions predict;
    predict.constrained = a.constrained;
    if (a.progress.enabled()) {
      predict.progress = &show_progress;
      predict.user = &progress;
    }
    auto tagged = albertner::predict_conll(*tagger, sentences, predict);
    if (!tagged.ok()) return fail(tagged.error().with_context(a.data));
    progress.finish(sentences.size());
    if (tagged->words_without_tokens > 0)
      std::fprintf(stderr, "albertner eval: %zu word(s) gave no token and were tagged O\n",
                   tagged->words_without_tokens);

    if (file) {
      const std::string text = albertner::format_conll_scored(sentences);
      auto st = file->write(text.data(), text.size());
      if (st.ok()) st = file->commit();
      if (!st.ok()) return fail(name_user_path(st.error(), a.predictions));
    }
  }

  auto scores = albertner::score_conll(sentences);
  if (!scores.ok()) return fail(scores.error().with_context(scored ? a.scored : a.data));
  return write_all(a.output, a.json ? scores_json(*scores) : scores_table(*scores));
}
} // namespace

void add_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Entity-level precision, recall and F1 on a CoNLL file (conlleval rules)");
  cmd->add_option("MODEL", args->positionals, "The model, as -m (not with --scored)");
  add_model_option(cmd, args->model);
  cmd->add_option("-i,--input,--data", args->data,
                  "CoNLL file to tag: WORD ... GOLD per line, blank lines between sentences (- : stdin)");
  cmd->add_option("--scored", args->scored,
                  "Score an existing WORD ... GOLD PREDICTED file instead (no model; - : stdin)");
  add_output_option(cmd, args->output);
  cmd->add_flag("--json", args->json, "One JSON object: precision, recall, f1, accuracy, per_type (fractions)");
  cmd->add_option("--predictions", args->predictions, "Write WORD GOLD PREDICTED lines (conlleval's input) here");
  cmd->add_flag("--constrained", args->constrained,
                "Tag each sentence with its most probable valid IOB2 sequence (Viterbi; I-X only after B-X or "
                "I-X) instead of each word's argmax. Not in Hugging Face's pipeline");
  add_tagger_options(cmd, args->window, args->overlap, args->batch, args->threads, "sentence", "tag");
  args->progress.add(cmd);
  cmd->callback([args] { exit_status() = run_eval(*args); });
}

} // namespace albertner_cli
