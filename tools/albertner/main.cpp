// albertner: convert, inspect and run ALBERT token classifiers.
#include "cli.hpp"

namespace albertner_cli {
int& exit_status() {
  static int status = 0;
  return status;
}
} // namespace albertner_cli

int main(int argc, char** argv) {
  CLI::App app{"albertner: Hugging Face-exact ALBERT named-entity recognition"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "albertner " + std::to_string(albertner::kModelFormatVersion));
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
    std::fprintf(stderr, "albertner: error: %s\n", e.what());
    return 2;
  }
  // A full disk or a closed pipe must not pass for success.
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "albertner: error: cannot write to standard output\n");
    return 1;
  }
  return albertner_cli::exit_status();
}
