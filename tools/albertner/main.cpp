// albertner: convert, inspect and run ALBERT token classifiers.
#include "cli.hpp"

#include <algorithm>

namespace albertner_cli {
int& exit_status() {
  static int status = 0;
  return status;
}

namespace {
// Levenshtein distance, for suggestions.
std::size_t distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// " (did you mean 'tag'?)" for a word close to one of `names`, else "".
std::string suggestion(const std::string& word, const std::vector<std::string>& names) {
  std::string best;
  std::size_t best_distance = 3;
  for (const std::string& name : names) {
    const std::size_t d = distance(word, name);
    if (d < best_distance && d < std::max<std::size_t>(name.size(), 2)) {
      best = name;
      best_distance = d;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

// The unexpected arguments: suggestions among the subcommands (before one is chosen) or the
// chosen subcommand's flags.
std::string suggest(const CLI::App& app, const std::vector<std::string>& extras) {
  const CLI::App* chosen = nullptr;
  for (const CLI::App* sub : app.get_subcommands())
    if (sub->parsed()) chosen = sub;
  std::vector<std::string> names;
  if (chosen) {
    for (const CLI::Option* o : chosen->get_options()) {
      for (const std::string& l : o->get_lnames()) names.push_back("--" + l);
      for (const std::string& s : o->get_snames()) names.push_back("-" + s);
    }
  } else {
    for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  }
  for (const std::string& extra : extras) {
    const std::string word = extra.substr(0, extra.find('='));
    const std::string hint = suggestion(word, names);
    if (!hint.empty())
      return "'" + word + "' is not " +
             (chosen ? "an option of albertner " + chosen->get_name() : std::string("a subcommand")) + hint;
  }
  return "";
}
} // namespace
} // namespace albertner_cli

int main(int argc, char** argv) {
  CLI::App app{"albertner: Hugging Face-exact ALBERT named-entity recognition"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "albertner " ALBERTNER_VERSION);
  app.get_formatter()->column_width(34);
  albertner_cli::add_convert(app);
  albertner_cli::add_info(app);
  albertner_cli::add_logits(app);
  albertner_cli::add_tokenize(app);
  albertner_cli::add_tag(app);
  albertner_cli::add_eval(app);
  albertner_cli::add_bench(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string message = e.what();
    std::vector<std::string> extras = app.remaining();
    for (const CLI::App* sub : app.get_subcommands())
      for (const std::string& r : sub->remaining()) extras.push_back(r);
    if (!extras.empty()) {
      const std::string better = albertner_cli::suggest(app, extras);
      if (!better.empty()) message = better;
    }
    std::fprintf(stderr, "albertner: error: %s\n", message.c_str());
    return albertner_cli::kExitUsage;
  }
  // A full disk or a closed pipe must not pass for success.
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "albertner: error: cannot write to standard output\n");
    return 1;
  }
  return albertner_cli::exit_status();
}
